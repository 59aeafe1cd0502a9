package bot

import (
	"math"
	"slices"
	"time"
)

// Summary is what the bots saw, aggregated. It marshals to the JSON object
// printed by `tickroom bot`.
type Summary struct {
	Bots             int     `json:"bots"`
	Connected        int     `json:"connected"`          // bots that joined a room
	Rooms            int     `json:"rooms"`              // distinct room IDs joined
	Snapshots        uint64  `json:"snapshots"`          // full frames received
	Deltas           uint64  `json:"deltas"`             // delta frames received
	BytesReceived    uint64  `json:"bytes_received"`     // payload bytes of all server messages
	Frames           uint64  `json:"frames"`             // frames received
	FramesPerSecond  float64 `json:"frames_per_s"`       // all bots' frames per second of the run
	FrameRate        float64 `json:"frame_hz"`           // frames per second per bot while seated
	AvgDeltaBytes    float64 `json:"avg_delta_bytes"`    // bytes per delta frame
	AvgSnapshotBytes float64 `json:"avg_snapshot_bytes"` // bytes per full frame
	Events           uint64  `json:"events"`             // room events received
	Desyncs          uint64  `json:"desyncs"`            // frames whose checksum did not match, or whose base was missing
	Errors           uint64  `json:"errors"`             // failed connects, error messages, unexpected leaves and closes, failed sends
	FirstError       string  `json:"first_error,omitempty"`
	InputsSent       uint64  `json:"inputs_sent"`
	InputsLate       uint64  `json:"inputs_late"` // schedule slots skipped because a bot fell behind
	DurationS        float64 `json:"duration_s"`  // wall time of the run

	// Chaos and reconnection.
	ChaosKills        uint64  `json:"chaos_kills"`        // sockets killed
	ChaosSilences     uint64  `json:"chaos_silences"`     // silences started
	ChaosDMFloods     uint64  `json:"chaos_dm_floods"`    // DM floods started
	ChaosDMsSent      uint64  `json:"chaos_dms_sent"`     // direct messages the floods sent
	DMsReceived       uint64  `json:"dms_received"`       // direct messages the bots received
	ChaosDMErrors     uint64  `json:"chaos_dm_errors"`    // server errors answering the floods (not counted in Errors)
	Disconnects       uint64  `json:"disconnects"`        // connections that ended under a playing bot
	ReconnectAttempts uint64  `json:"reconnect_attempts"` // dials made to reconnect
	ResumesOK         uint64  `json:"resumes_ok"`         // outages ended by a resumed seat and a resynced replica
	ResumeRedirects   uint64  `json:"resume_redirects"`   // of those, resumes that followed a redirect to the seat's node
	RedirectResyncP50 float64 `json:"resync_redirect_ms_p50"`
	RedirectResyncP99 float64 `json:"resync_redirect_ms_p99"`
	ResumesSnapshot   uint64  `json:"resumes_snapshot"` // … resynced by a full snapshot
	ResumesDelta      uint64  `json:"resumes_delta"`    // … resynced by a delta from the last applied tick
	ResumesFailed     uint64  `json:"resumes_failed"`   // outages that ended without a resume
	PlayersLost       uint64  `json:"players_lost"`     // bots whose seat was lost although they did not close
	ResyncP50         float64 `json:"resync_ms_p50"`    // reconnection dial start → resynced replica
	ResyncP99         float64 `json:"resync_ms_p99"`
	ResyncMax         float64 `json:"resync_ms_max"`
	EventsMissed      uint64  `json:"events_missed"`     // seq gaps in each bot's room events, plus resumes with recovered=false
	EventsDuplicated  uint64  `json:"events_duplicated"` // events delivered twice (dropped by the SDK)
	InputsBuffered    uint64  `json:"inputs_buffered"`   // inputs sent while offline, delivered after the resume
	InputsDropped     uint64  `json:"inputs_dropped"`    // inputs the offline buffer could not keep

	// Matchmaking.
	Matchmaking    string  `json:"matchmaking"`        // quick, ticket or direct
	MatchmakingP50 float64 `json:"matchmaking_ms_p50"` // first matchmaking API request → seat taken (tickets: queue time included)
	MatchmakingP99 float64 `json:"matchmaking_ms_p99"`
	MatchmakingMax float64 `json:"matchmaking_ms_max"`
	APIRetries     uint64  `json:"api_retries"`     // API requests retried after 429 rate_limited
	TicketsMatched uint64  `json:"tickets_matched"` // tickets matched (seat reserved)
	TicketsExpired uint64  `json:"tickets_expired"` // tickets the server expired unmatched (not errors; see Config.Matchmaking)
	TicketsPushed  uint64  `json:"tickets_pushed"`  // matches learnt from the pushed `matched` (the others by polling the ticket)
	// MatchRatingSpreadAvg is, over the rooms of matched tickets, the
	// average of max − min of the ratings of the bots seated in the room.
	MatchRatingSpreadAvg float64 `json:"match_rating_spread_avg"`
}

// OK reports whether every bot connected (in ticket mode: every bot whose
// ticket did not expire) and nothing went wrong: no desync, no error, no
// seat lost, no failed resume, no room event missed or duplicated.
func (s Summary) OK() bool {
	return s.Connected+int(s.TicketsExpired) == s.Bots && s.Desyncs == 0 && s.Errors == 0 &&
		s.PlayersLost == 0 && s.ResumesFailed == 0 && s.EventsMissed == 0 && s.EventsDuplicated == 0
}

func summarize(cfg Config, results []result, d time.Duration) Summary {
	s := Summary{Bots: cfg.Bots, DurationS: d.Seconds()}
	rooms := map[string]bool{}
	var snapBytes, deltaBytes uint64
	var seated time.Duration
	var resync, redirected []time.Duration
	for _, r := range results {
		if r.connected {
			s.Connected++
			rooms[r.room] = true
		}
		s.Snapshots += r.stats.Snapshots
		s.Deltas += r.stats.Deltas
		s.BytesReceived += r.stats.BytesReceived
		s.Frames += r.stats.Frames
		s.Events += r.stats.Events
		s.Desyncs += r.stats.Desyncs
		s.InputsSent += r.stats.InputsSent
		s.DMsReceived += r.dms
		s.ChaosDMErrors += r.dmErrors
		s.InputsLate += r.late
		s.Errors += r.errors
		if s.FirstError == "" && r.firstErr != nil {
			s.FirstError = r.firstErr.Error()
		}
		snapBytes += r.stats.SnapshotBytes
		deltaBytes += r.stats.DeltaBytes
		seated += r.seated

		s.Disconnects += r.stats.Disconnects
		s.ReconnectAttempts += r.stats.ReconnectAttempts
		s.ResumesOK += r.conn.resumesOK
		s.ResumesSnapshot += r.conn.resumesSnapshot
		s.ResumesFailed += r.conn.resumesFailed
		if r.conn.lost {
			s.PlayersLost++
		}
		resync = append(resync, r.conn.resync...)
		redirected = append(redirected, r.conn.resyncRedirected...)
		s.EventsMissed += r.conn.eventGaps + r.conn.unrecovered
		s.EventsDuplicated += r.stats.DuplicateEvents
		s.InputsBuffered += r.stats.InputsBuffered
		s.InputsDropped += r.stats.InputsDropped
	}
	s.Matchmaking = cfg.Matchmaking
	summarizeMatchmaking(&s, results)
	s.ResumesDelta = s.ResumesOK - s.ResumesSnapshot
	s.ResumeRedirects = uint64(len(redirected))
	if len(redirected) > 0 {
		slices.Sort(redirected)
		s.RedirectResyncP50 = ms(percentile(redirected, 50))
		s.RedirectResyncP99 = ms(percentile(redirected, 99))
	}
	if len(resync) > 0 {
		slices.Sort(resync)
		s.ResyncP50 = ms(percentile(resync, 50))
		s.ResyncP99 = ms(percentile(resync, 99))
		s.ResyncMax = ms(resync[len(resync)-1])
	}
	s.Rooms = len(rooms)
	s.AvgSnapshotBytes = ratio(snapBytes, s.Snapshots)
	s.AvgDeltaBytes = ratio(deltaBytes, s.Deltas)
	if d > 0 {
		s.FramesPerSecond = round2(float64(s.Frames) / d.Seconds())
	}
	if seated > 0 {
		s.FrameRate = round2(float64(s.Frames) / seated.Seconds())
	}
	s.DurationS = round2(s.DurationS)
	return s
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return round2(float64(a) / float64(b))
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// percentile returns the nearest-rank p-th percentile of sorted d.
func percentile(d []time.Duration, p int) time.Duration {
	i := (len(d)*p + 99) / 100 // ceil(len·p/100), 1-based
	return d[max(i, 1)-1]
}

func ms(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }
