package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// ClockTicks is the unit of the CPU times in /proc/PID/stat and /proc/stat
// (USER_HZ). The kernel exports these in USER_HZ, which is 100 on every
// architecture Go supports on Linux, whatever CONFIG_HZ is.
const ClockTicks = 100

// ProcStat is what the harness reads from /proc/PID/stat.
type ProcStat struct {
	Comm  string
	PPID  int
	UTime uint64 // clock ticks (ClockTicks per second)
	STime uint64
}

// CPU returns utime+stime in clock ticks.
func (s ProcStat) CPU() uint64 { return s.UTime + s.STime }

// ParseProcStat parses the content of /proc/PID/stat. The command name
// (field 2) is in parentheses and may itself hold spaces and parentheses,
// so the fields are counted from the last ')'.
func ParseProcStat(b []byte) (ProcStat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return ProcStat{}, errors.New("bench: /proc stat: no (comm)")
	}
	// After ") ": field 3 (state) is rest[0], ppid (4) rest[1],
	// utime (14) rest[11], stime (15) rest[12].
	rest := strings.Fields(string(b[end+1:]))
	if len(rest) < 13 {
		return ProcStat{}, fmt.Errorf("bench: /proc stat: %d fields after comm, want at least 13", len(rest))
	}
	s := ProcStat{Comm: string(b[open+1 : end])}
	var err error
	if s.PPID, err = strconv.Atoi(rest[1]); err != nil {
		return ProcStat{}, fmt.Errorf("bench: /proc stat ppid: %w", err)
	}
	if s.UTime, err = strconv.ParseUint(rest[11], 10, 64); err != nil {
		return ProcStat{}, fmt.Errorf("bench: /proc stat utime: %w", err)
	}
	if s.STime, err = strconv.ParseUint(rest[12], 10, 64); err != nil {
		return ProcStat{}, fmt.Errorf("bench: /proc stat stime: %w", err)
	}
	return s, nil
}

// ReadProcStat reads /proc/PID/stat.
func ReadProcStat(pid int) (ProcStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcStat{}, err
	}
	return ParseProcStat(b)
}

// ParseStatusKB returns the value in kB of one "Key:   123 kB" line of
// /proc/PID/status (VmRSS, VmHWM...).
func ParseStatusKB(b []byte, key string) (uint64, error) {
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("bench: /proc status %s: unexpected %q", key, strings.TrimSpace(v))
		}
		return strconv.ParseUint(f[0], 10, 64)
	}
	return 0, fmt.Errorf("bench: /proc status: no %s", key)
}

// Memory is a process's resident memory in KiB: now and its peak.
type Memory struct{ RSS, HWM uint64 }

// ReadMemory reads VmRSS and VmHWM from /proc/PID/status.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	rss, err := ParseStatusKB(b, "VmRSS")
	if err != nil {
		return Memory{}, err
	}
	hwm, err := ParseStatusKB(b, "VmHWM")
	if err != nil {
		return Memory{}, err
	}
	return Memory{RSS: rss, HWM: hwm}, nil
}

// SysCPU is the first line of /proc/stat, in clock ticks summed over all
// CPUs.
type SysCPU struct{ User, System, Idle, IRQ, Steal uint64 }

// Total is every tick counted.
func (s SysCPU) Total() uint64 { return s.User + s.System + s.Idle + s.IRQ + s.Steal }

// ParseSysCPU parses the "cpu " line of /proc/stat.
func ParseSysCPU(b []byte) (SysCPU, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return SysCPU{}, errors.New("bench: /proc/stat: no cpu line")
	}
	n := make([]uint64, 0, 8)
	for _, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return SysCPU{}, fmt.Errorf("bench: /proc/stat: %w", err)
		}
		n = append(n, v)
	}
	for len(n) < 8 {
		n = append(n, 0)
	}
	// user nice system idle iowait irq softirq steal
	return SysCPU{User: n[0] + n[1], System: n[2], Idle: n[3] + n[4], IRQ: n[5] + n[6], Steal: n[7]}, nil
}

// ReadSysCPU reads /proc/stat.
func ReadSysCPU() (SysCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return SysCPU{}, err
	}
	return ParseSysCPU(b)
}

// Loadavg returns the first three fields of /proc/loadavg ("0.44 0.64
// 1.12"), or "" if it cannot be read.
func Loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// ProcTable is the CPU of every process on the machine at one moment,
// by PID.
type ProcTable map[int]ProcStat

// ReadProcTable reads /proc/*/stat. Processes that exit while it reads are
// skipped.
func ReadProcTable() ProcTable {
	t := ProcTable{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, err := ReadProcStat(pid); err == nil {
			t[pid] = s
		}
	}
	return t
}

// Others is the CPU that processes outside the benchmark used between two
// ProcTables, in % of one core.
type Others struct {
	Pct     float64  `json:"other_procs_cpu_pct"`
	Top     []string `json:"other_procs_top"`        // "comm:pct", at most 3
	Kernel  float64  `json:"kernel_threads_cpu_pct"` // children of kthreadd; part of it is our own loopback traffic
	Seconds float64  `json:"-"`
}

// OtherCPU compares two ProcTables taken seconds apart, leaving out the
// PIDs in ours. A process that appeared in between counts from zero; one
// that started and ended in between is not seen.
func OtherCPU(before, after ProcTable, ours map[int]bool, seconds float64) Others {
	if seconds <= 0 {
		return Others{}
	}
	byComm := map[string]uint64{}
	var total, kernel uint64
	for pid, a := range after {
		if ours[pid] {
			continue
		}
		d := a.CPU() // new since before (or its PID was reused)
		if b, ok := before[pid]; ok && b.Comm == a.Comm && b.CPU() <= a.CPU() {
			d = a.CPU() - b.CPU()
		}
		if d == 0 {
			continue
		}
		if a.PPID == 2 || pid == 2 {
			kernel += d
			continue
		}
		total += d
		byComm[a.Comm] += d
	}
	pct := func(t uint64) float64 { return round(100*float64(t)/ClockTicks/seconds, 1) }
	comms := make([]string, 0, len(byComm))
	for c := range byComm {
		comms = append(comms, c)
	}
	sort.Slice(comms, func(i, j int) bool {
		if byComm[comms[i]] != byComm[comms[j]] {
			return byComm[comms[i]] > byComm[comms[j]]
		}
		return comms[i] < comms[j]
	})
	o := Others{Pct: pct(total), Kernel: pct(kernel), Seconds: seconds, Top: []string{}}
	for i, c := range comms {
		if i == 3 {
			break
		}
		o.Top = append(o.Top, fmt.Sprintf("%s:%.1f", c, pct(byComm[c])))
	}
	return o
}
