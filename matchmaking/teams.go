package matchmaking

import (
	"cmp"
	"math"
	"slices"
)

// unit is what is put on a team: one ticket, so a party stays together.
type unit struct {
	size   int     // players
	rating float64 // each player's rating (the ticket's)
}

// assignTeams puts every unit on one of teams teams of at most cap players
// and returns each unit's team, or false if the parties cannot be packed.
//
// Balance: units are placed largest (then highest-rated) first, each on the
// team with the fewest players, ties going to the lower rating total — a
// snake draft for single players — then pairs of same-size units are swapped
// between teams while that brings the teams' mean ratings closer. If that
// greedy packing fails (parties that only fit one way), a bounded
// backtracking search looks for any packing before balancing.
func assignTeams(units []unit, teams, cap int) ([]int, bool) {
	n := len(units)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(units[b].size, units[a].size); c != 0 {
			return c
		}
		return cmp.Compare(units[b].rating, units[a].rating)
	})
	team := make([]int, n)
	count := make([]int, teams)
	sum := make([]float64, teams)
	put := func(u, t int) {
		team[u] = t
		count[t] += units[u].size
		sum[t] += units[u].rating * float64(units[u].size)
	}
	greedy := true
	for _, u := range order {
		best := -1
		for t := range teams {
			if count[t]+units[u].size > cap {
				continue
			}
			if best < 0 || count[t] < count[best] || (count[t] == count[best] && sum[t] < sum[best]) {
				best = t
			}
		}
		if best < 0 {
			greedy = false
			break
		}
		put(u, best)
	}
	if !greedy {
		clear(count)
		clear(sum)
		budget := 20000
		var place func(k int) bool
		place = func(k int) bool {
			if k == n {
				return true
			}
			if budget--; budget < 0 {
				return false
			}
			u := order[k]
			triedEmpty := false
			for t := range teams {
				if count[t]+units[u].size > cap {
					continue
				}
				if count[t] == 0 { // empty teams are interchangeable: try one
					if triedEmpty {
						continue
					}
					triedEmpty = true
				}
				put(u, t)
				if place(k + 1) {
					return true
				}
				count[t] -= units[u].size
				sum[t] -= units[u].rating * float64(units[u].size)
			}
			return false
		}
		if !place(0) {
			return nil, false
		}
	}
	balance(units, team, count, sum)
	return team, true
}

// balance swaps same-size units between teams while a swap brings the two
// teams' mean ratings closer.
func balance(units []unit, team, count []int, sum []float64) {
	gap := func(sx, sy float64, cx, cy int) float64 {
		if cx == 0 || cy == 0 {
			return 0
		}
		return math.Abs(sx/float64(cx) - sy/float64(cy))
	}
	for range 8 {
		improved := false
		for u := range units {
			for v := range units {
				x, y := team[u], team[v]
				if x >= y || units[u].size != units[v].size {
					continue
				}
				d := (units[v].rating - units[u].rating) * float64(units[u].size)
				if gap(sum[x]+d, sum[y]-d, count[x], count[y]) < gap(sum[x], sum[y], count[x], count[y])-1e-9 {
					team[u], team[v] = y, x
					sum[x] += d
					sum[y] -= d
					improved = true
				}
			}
		}
		if !improved {
			return
		}
	}
}
