package bot

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/tickroom/tickroom/netcode/client"
)

// Silences of ChaosSilentRate when Config.ChaosSilence is 0: uniformly
// random in [minSilence, maxSilence).
const (
	minSilence = 2 * time.Second
	maxSilence = 6 * time.Second
)

// chaosSteps is how many times per second the chaos goroutine strikes, so
// the rate is spread over the second instead of hitting in bursts.
const chaosSteps = 10

// chaosCounts are what the chaos goroutine did.
type chaosCounts struct{ kills, silences, floods, dms uint64 }

// runChaos strikes playing bots until stop is closed: chaosSteps times per
// second it kills the sockets of ChaosKillRate/chaosSteps of them and
// silences ChaosSilentRate/chaosSteps of them (fractions rounded at random,
// so the rates hold on average), drawing victims from its own random
// source seeded by Seed. ChaosDMFloodRate/chaosSteps of them flood another
// playing bot with direct messages.
func runChaos(cfg *Config, bots []*bot, stop <-chan struct{}) (n chaosCounts) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xc4a05))
	t := time.NewTicker(time.Second / chaosSteps)
	defer t.Stop()
	var playing []*bot
	count := func(rate float64) int { // random rounding of rate·len(playing)/chaosSteps
		x := rate * float64(len(playing)) / chaosSteps
		k := int(x)
		if rng.Float64() < x-float64(k) {
			k++
		}
		return k
	}
	for {
		select {
		case <-stop:
			return n
		case <-t.C:
		}
		playing = playing[:0]
		for _, b := range bots {
			if b.isPlaying() {
				playing = append(playing, b)
			}
		}
		kills, silences := count(cfg.ChaosKillRate), count(cfg.ChaosSilentRate)
		floods := count(cfg.ChaosDMFloodRate)
		rng.Shuffle(len(playing), func(i, j int) { playing[i], playing[j] = playing[j], playing[i] })
		// Floods first, from the front of the shuffled bots at their
		// victims (the next one): kills and silences may strike either
		// afterwards, as they would in the wild.
		for i := 0; i < floods && len(playing) > 1; i++ {
			from, to := playing[i%len(playing)], playing[(i+1)%len(playing)]
			victim := to.playerID()
			if victim == "" {
				continue
			}
			var sent uint64
			if from.strike(func(c *client.Client) bool {
				sent = floodDMs(c, victim, cfg.ChaosDMBurst, cfg.ChaosDMSize)
				return true
			}) {
				n.floods++
				n.dms += sent
			}
		}
		for _, b := range playing {
			switch {
			case kills > 0:
				kills--
				if b.strike(func(c *client.Client) bool { return c.KillConnection() }) {
					n.kills++
				}
			case silences > 0:
				silences--
				d := cfg.ChaosSilence
				if d == 0 {
					d = minSilence + time.Duration(rng.Int64N(int64(maxSilence-minSilence)))
				}
				if b.strike(func(c *client.Client) bool { return c.GoSilent(d) }) {
					n.silences++
				}
			}
		}
	}
}

// floodDMs sends burst direct messages of size bytes to player to and
// returns how many were written; it stops at the first refused write (the
// connection is down or closing).
func floodDMs(c *client.Client, to string, burst, size int) (sent uint64) {
	payload := strings.Repeat("x", size)
	for range burst {
		if err := c.SendMsg(to, payload); err != nil {
			return sent
		}
		sent++
	}
	return sent
}
