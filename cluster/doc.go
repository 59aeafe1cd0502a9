// Package cluster keeps what several tickroom nodes must agree on in one
// Redis (or an embedded miniredis for a single process): node leases, the
// room directory (room.Directory), seat reservations, resume-token
// locations, presence, and per-node pub/sub for direct messages.
//
// Game traffic never goes through Redis. Every multi-key decision is one
// Lua script (lua/*.lua), each compare-and-set on the owner tuple (node,
// epoch) or otherwise safe to run once; go-redis retries are off
// (MaxRetries -1) so a script never runs twice for one call.
//
// Time: every script receives the caller's clock (Config.Clock) in Unix
// milliseconds, and all deadlines (leases, reservations, tombstones) are
// compared with it. Key TTLs exist only to collect garbage; correctness
// never depends on them (miniredis moves TTLs only on FastForward).
// Nodes compare each other's deadlines with their own clocks, so node
// clocks must agree (NTP) to well within LeaseTTL.
//
// Fencing: owner writes compare the record's owner tuple (node ID and the
// epoch, random per Open) atomically in the script, so an earlier
// incarnation of a node (a paused or restarted process) can never change
// a record its successor owns. Each room record also carries a fence from
// a counter that is never deleted, new for every (re)creation; it is
// returned for external sinks (match results keyed by room and fence).
//
// Key layout (P is Config.Prefix, default "tr:"):
//
//	P nodes                 ZSET node ID → lease deadline (ms)
//	P node:<id>             HASH ws_url, epoch, load, draining  (GC TTL)
//	                        (draining "1": placement and join-or-create
//	                        skip the node and its rooms; Node.Drain)
//	P node:<id>:rooms       SET room IDs the node owns (sweeper, load)
//	P node:<id>:toks        SET token keys the node recorded (sweeper)
//	P node:<id>:pres        SET players online on the node (sweeper)
//	P fence                 counter, never deleted: room fences
//	P room:<id>             HASH type node epoch fence cap seats locked
//	                        private code meta(JSON) pending      (GC TTL)
//	P rooms                 ZSET room ID → fence (every room; List)
//	P type:<type>           ZSET room ID → fence (every room of the type; List)
//	P open:<type>           ZSET room ID → fence: public, unlocked, seats
//	                        plus live reservations below capacity
//	                        (join-or-create scans only these)
//	P held:<type>           ZSET room ID → earliest reservation deadline:
//	                        rooms full only through reservations
//	P code:<code>           STRING room ID of a private room's join code
//	P res:<room>            ZSET seat key → reservation deadline (ms)
//	P seat:<key>            HASH player room exp (key = hex SHA-256 of the
//	                        seat token); kept 5 min past exp as a tombstone
//	P tok:<key>             STRING "node|epoch|room" of a resume token
//	P pres:<player>         HASH node ID → epoch: nodes the player is on
//	channel P n:<node>      direct messages to the node's players
//
// A room's owner is live while its node's lease deadline is ahead of the
// reader's clock and the node hash names the room's epoch. Listings and
// placement skip rooms of dead owners at once; the sweeper (any node
// healthy for a full lease) deletes them later. The scripts build key
// names from the prefix, so one Redis primary (optionally behind
// Sentinel) is supported, not Redis Cluster.
package cluster
