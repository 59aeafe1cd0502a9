#!/usr/bin/env bash
# soak.sh — `make soak`: run `tickroom serve` and waves of `tickroom bot` with chaos (socket kills,
# silences, DM floods) for a given duration, and print the server's memory (RSS, Go heap in use,
# from /metrics) and goroutine count when idle, once warm (after the first wave) and at the end.
# The run is bounded in time and stops by itself; it exits 1 if the server died or if its
# goroutines or heap grew between the warm sample and the end (not flat).
#
#   scripts/soak.sh --bin bin/tickroom [--addr 127.0.0.1:8099] [--duration 10m] [--bots 40]
#                   [--wave 60s] [--settle 25s] [-- extra tickroom bot flags]
#
# Needs bash, curl and awk.
set -euo pipefail

bin=bin/tickroom addr=127.0.0.1:8099 duration=10m bots=40 wave=60s settle=25s
kill_rate=0.02 silent_rate=0.01 flood_rate=0.02
extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	--bin) bin=$2; shift 2 ;;
	--addr) addr=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--bots) bots=$2; shift 2 ;;
	--wave) wave=$2; shift 2 ;;
	--settle) settle=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	*) echo "soak: unknown argument $1" >&2; exit 2 ;;
	esac
done

# seconds converts 90s, 10m, 1h, 1m30s or a plain number of seconds.
seconds() {
	local s=$1 total=0 n
	[[ $s =~ ^[0-9]+$ ]] && { echo "$s"; return; }
	while [[ $s =~ ^([0-9]+)([hms])(.*)$ ]]; do
		n=${BASH_REMATCH[1]}
		case ${BASH_REMATCH[2]} in h) total=$((total + n * 3600)) ;; m) total=$((total + n * 60)) ;; s) total=$((total + n)) ;; esac
		s=${BASH_REMATCH[3]}
	done
	[ -z "$s" ] || { echo "soak: bad duration $1" >&2; exit 2; }
	echo "$total"
}
total=$(seconds "$duration") wave_s=$(seconds "$wave") settle_s=$(seconds "$settle")
[ "$total" -gt 0 ] || { echo "soak: duration must be positive" >&2; exit 2; }

work=$(mktemp -d)
server_log=$work/serve.log
"$bin" serve --addr "$addr" --log-level warn --max-conns-per-ip -1 --guest-rate 100000 --guest-burst 100000 >"$server_log" 2>&1 &
spid=$!
cleanup() {
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

base=http://$addr
for _ in $(seq 100); do
	curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
	kill -0 "$spid" 2>/dev/null || { echo "soak: the server exited:"; cat "$server_log"; exit 1; }
	sleep 0.1
done
curl -fsS -o /dev/null "$base/healthz" || { echo "soak: the server never became healthy"; exit 1; }

# sample prints "rss_bytes heap_inuse_bytes goroutines" of the server from /metrics.
sample() {
	curl -fsS --max-time 10 "$base/metrics" | awk '
		/^process_resident_memory_bytes / { rss = $2 }
		/^go_memstats_heap_inuse_bytes / { heap = $2 }
		/^go_goroutines / { g = $2 }
		END { printf "%d %d %d\n", rss, heap, g }'
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
row() { # label "rss heap goroutines"
	set -- "$1" $2
	printf "  %-28s rss %8s MiB   heap in use %8s MiB   goroutines %6d\n" "$1" "$(mib "$2")" "$(mib "$3")" "$4"
}

echo "soak: tickroom serve on $addr for $duration; waves of $bots bots × ${wave_s}s with chaos" \
	"(kills $kill_rate/s, silences $silent_rate/s, DM floods $flood_rate/s of the playing bots)"
idle=$(sample)
row "idle (start)" "$idle"

end_at=$(($(date +%s) + total))
n=0 warm=""
while :; do
	now=$(date +%s)
	left=$((end_at - now))
	[ "$left" -gt 5 ] || break
	n=$((n + 1))
	play=$((left < wave_s ? left : wave_s))
	set +e
	summary=$("$bin" bot --url "$base" --bots "$bots" --duration "${play}s" --seed "$n" --json \
		--chaos-kill-rate "$kill_rate" --chaos-silent-rate "$silent_rate" --chaos-dm-flood-rate "$flood_rate" \
		"${extra[@]}" 2>"$work/bot.log" | tail -n 1)
	rc=$?
	set -e
	kill -0 "$spid" 2>/dev/null || { echo "soak: the server died during wave $n:"; tail -n 50 "$server_log"; exit 1; }
	digest=$(printf '%s' "$summary" | awk '{
		n = split("connected chaos_kills chaos_silences chaos_dm_floods chaos_dm_errors resumes_ok players_lost desyncs errors", keys, " ")
		out = ""
		for (i = 1; i <= n; i++) if (match($0, "\"" keys[i] "\":[0-9]+")) out = out " " substr($0, RSTART + 1, RLENGTH - 1)
		if (match($0, "\"first_error\":\"[^\"]*\"")) out = out " " substr($0, RSTART, RLENGTH)
		print out }' | tr -d '"')
	echo "  wave $n (${play}s, bot exit $rc):$digest"
	if [ -z "$warm" ]; then
		sleep "$settle_s" # seats in grace, idle rooms disposed
		warm=$(sample)
		row "warm (after wave 1, settled)" "$warm"
	else
		row "during (after wave $n)" "$(sample)"
	fi
done
sleep "$settle_s"
final=$(sample)
row "end (settled)" "$final"

read -r _ wheap wg <<<"$warm"
read -r _ fheap fg <<<"$final"
verdict=flat
# Flat: at most 10 more goroutines and the heap within 1.5× + 8 MiB of the warm sample.
if [ "$fg" -gt $((wg + 10)) ] || [ "$fheap" -gt $((wheap * 3 / 2 + 8 * 1048576)) ]; then verdict=GROWING; fi
echo "soak: $n waves; goroutines warm $wg → end $fg; heap in use warm $(mib "$wheap") → end $(mib "$fheap") MiB: $verdict"
grep -c . "$server_log" >/dev/null 2>&1 && echo "soak: the server logged $(grep -c . "$server_log") lines (warn and above); the last ones:" && tail -n 5 "$server_log" | cut -c1-300
[ "$verdict" = flat ]
