# tickroom — two commands do all set-up on a fresh machine: `make run` and `make test`.
GO       ?= go
ADDR     ?= 127.0.0.1:8080
BIN      := bin/tickroom
FUZZTIME ?= 30s

.PHONY: all build run test vet fuzz fuzz-short soak bench bench-go clean cluster web web-force

all: build

build: web
	$(GO) build -o $(BIN) ./cmd/tickroom

## web: rebuild the browser demo (web/dist, embedded in the binary) when its sources changed since
## the committed build (esbuild via npm; `npm ci` in web/ on first use). Without Node.js the
## committed web/dist is used as it is.
web:
	@if command -v node >/dev/null 2>&1; then node web/build.mjs --if-stale; \
	else echo "node not found: using the committed web/dist"; fi

## web-force: rebuild web/dist unconditionally
web-force:
	cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && node build.mjs

## run: the server with the demo game (arena) on $(ADDR); open http://$(ADDR)/ to play
run: build
	./$(BIN) serve --addr $(ADDR)

## cluster: a local redis-server and two nodes on loopback (docs/SCALING.md); Ctrl-C stops all three.
## Ports: CLUSTER_REDIS (Redis), CLUSTER_A and CLUSTER_B (the nodes' HTTP/WebSocket).
CLUSTER_REDIS ?= 6390
CLUSTER_A     ?= 127.0.0.1:8081
CLUSTER_B     ?= 127.0.0.1:8082
cluster: build
	@command -v redis-server >/dev/null || { echo "redis-server not found: install the redis-server package"; exit 1; }
	@set -e; secret=$$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n'); \
	redis-server --port $(CLUSTER_REDIS) --bind 127.0.0.1 --save '' --appendonly no --loglevel warning & r=$$!; \
	trap 'kill $$a $$b 2>/dev/null; wait $$a $$b 2>/dev/null; kill $$r 2>/dev/null; wait $$r 2>/dev/null' INT TERM EXIT; \
	sleep 0.3; \
	echo "redis  redis://127.0.0.1:$(CLUSTER_REDIS)/0"; \
	echo "node A http://$(CLUSTER_A)  (ws://$(CLUSTER_A)/ws)"; \
	echo "node B http://$(CLUSTER_B)  (ws://$(CLUSTER_B)/ws)"; \
	echo "try:   ./$(BIN) bot --url http://$(CLUSTER_A) --bots 40 --matchmaking quick"; \
	./$(BIN) serve --addr $(CLUSTER_A) --node-id A --redis redis://127.0.0.1:$(CLUSTER_REDIS)/0 --token-secret $$secret --guest-burst 1000 & a=$$!; \
	./$(BIN) serve --addr $(CLUSTER_B) --node-id B --redis redis://127.0.0.1:$(CLUSTER_REDIS)/0 --token-secret $$secret --guest-burst 1000 & b=$$!; \
	wait $$a $$b

## test: vet, a short run of every fuzz target (fuzz-short) and every test with the race detector
## (web/'s tests run the JS client's node tests and, where Chromium and web/node_modules are
## installed, the browser end-to-end test)
test: vet fuzz-short
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

## The fuzz targets of untrusted bytes, as package:Target. Crashers a run finds are written to the
## package's testdata/fuzz/<Target>/ (the go default) and replayed by every `go test` from then on.
FUZZ_TARGETS := \
	netcode:FuzzCheckValue \
	netcode:FuzzDecodeClient \
	netcode:FuzzDecodeServer \
	netcode:FuzzApplyDelta \
	netcode:FuzzDecodeSchema \
	room:FuzzInputDecode
FUZZTIME_SHORT ?= 3s

## fuzz: each fuzz target of untrusted bytes for $(FUZZTIME) (default 30s)
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t#*:}; \
	echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
	$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) ./$$pkg/; done

## fuzz-short: each fuzz target for $(FUZZTIME_SHORT) (default 3s), part of `make test`
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_SHORT)

## soak: `tickroom serve` plus `tickroom bot` with chaos (kills, silences, DM floods) for
## $(DURATION) (default 10m); prints the server's RSS, Go heap and goroutines at the start and the
## end (a bot wave lasts 60s; settling adds ~1 min). Tune with SOAK_BOTS, SOAK_ADDR and SOAK_FLAGS
## (extra `tickroom bot` flags; later flags win, e.g. SOAK_FLAGS='--chaos-dm-flood-rate 0.1').
DURATION  ?= 10m
SOAK_BOTS ?= 40
SOAK_ADDR ?= 127.0.0.1:8099
SOAK_FLAGS ?=
soak: build
	@bash scripts/soak.sh --bin ./$(BIN) --addr $(SOAK_ADDR) --duration $(DURATION) --bots $(SOAK_BOTS) -- $(SOAK_FLAGS)

## bench: the arena benchmark (tickroom serve + bots, the chaos variant, the transport floor), one JSON
## object on stdout; sizes are ROOMS × PLAYERS, e.g. `make bench ROOMS=200`. docs/BENCHMARKS.md.
ROOMS       ?= 50
PLAYERS     ?= 10
BENCH_FLAGS ?=
COLYSEUS    ?= ../shared/peers/colyseus
BENCH_BIN   := bin/tickroom-bench
FLOOR_BIN   := bin/tickroom-floor
bench: build
	@$(GO) build -o $(BENCH_BIN) ./bench/cmd/tickroom-bench
	@$(GO) build -o $(FLOOR_BIN) ./bench/cmd/tickroom-floor
	@./$(BENCH_BIN) arena --rooms $(ROOMS) --players $(PLAYERS) --tickroom $(BIN) --floor $(FLOOR_BIN) $(BENCH_FLAGS)

## bench-compare: `make bench`, then the Colyseus peer benchmark ($(COLYSEUS)/run.sh) at the same
## sizes, one after the other; one JSON object with both sides and the ratios
.PHONY: bench-compare
bench-compare: build
	@$(GO) build -o $(BENCH_BIN) ./bench/cmd/tickroom-bench
	@$(GO) build -o $(FLOOR_BIN) ./bench/cmd/tickroom-floor
	@./$(BENCH_BIN) compare --rooms $(ROOMS) --players $(PLAYERS) --tickroom $(BIN) --floor $(FLOOR_BIN) --colyseus $(COLYSEUS) $(BENCH_FLAGS)

## bench-go: Go micro-benchmarks of the hot paths (capture, delta encode/apply for 10/100/1,000
## entities, the per-tick fan-out of a room, input queueing, the codec, the registry)
bench-go:
	$(GO) test -run='^$$' -bench=. -benchmem ./netcode/ ./room/ ./player/

clean:
	rm -rf bin
