// Package bench is the arena benchmark harness behind `make bench` and
// `make bench-compare`. It starts `tickroom serve` and `tickroom bot` as
// their own processes (pinned to one CPU each when it can), waits until
// every bot joined, lets a warm-up pass, and measures a window: the
// server's CPU from /proc/PID/stat, its memory from /proc/PID/status, and
// ticks, tick lateness and bytes sent from its /metrics, scraped at the
// start and the end of the window. It then measures the transport floor
// (package floor) the same way, and, for bench-compare, runs the Colyseus
// peer benchmark at the same sizes. docs/BENCHMARKS.md describes the
// method and every figure.
package bench
