package room

import "time"

// schedule places ticks on an absolute grid: slot n is due at
// start + n*interval, so ticks never drift however late one of them runs.
// A tick that starts so late that later slots have already passed runs
// once, for the newest passed slot; the slots in between are skipped and
// counted as overruns (never queued, so a slow tick cannot snowball).
type schedule struct {
	start    time.Time
	interval time.Duration
	slot     int64 // the next slot to run
}

func newSchedule(start time.Time, interval time.Duration) schedule {
	return schedule{start: start, interval: interval, slot: 1}
}

// deadline is when the next slot is due.
func (s *schedule) deadline() time.Time {
	return s.start.Add(time.Duration(s.slot) * s.interval)
}

// fire is called when the timer for the next slot went off at now. It
// reports whether a tick runs now, how late it starts against its slot's
// ideal time and how many slots were skipped.
func (s *schedule) fire(now time.Time) (run bool, late time.Duration, skipped int64) {
	due := s.deadline()
	if now.Before(due) {
		return false, 0, 0 // woke early: sleep again until due
	}
	// The newest slot whose time has come.
	newest := int64(now.Sub(s.start) / s.interval)
	skipped = newest - s.slot
	late = now.Sub(s.start.Add(time.Duration(newest) * s.interval))
	s.slot = newest + 1
	return true, late, skipped
}
