// Package matchmaking owns the HTTP matchmaking API (docs/API.md,
// docs/openapi.yaml): quick match — join-or-create, create and join, each
// answered with a seat reservation — room listings, ticket queues whose
// rating window widens with waiting time, and the server-side hooks a game's
// backend uses (seats for chosen players, queue statistics).
//
// Rooms are reached only through the Rooms interface declared here, which
// *room.Manager satisfies; the package never seats anyone itself: a client
// takes its reserved seat over the WebSocket with the seat token.
//
// Tickets live in a TicketStore: in memory for one process
// (NewMemoryTicketStore, the default), or shared by every node of a
// cluster (cluster.NewTicketStore on Redis).
//
// Concurrency: HTTP handlers run on net/http's goroutines. One matcher
// goroutine per Service, started by New and stopped by Close, runs one
// pass per Config.Interval on the injected clock; it decides only while
// its Service holds the store's matcher lease, so one matcher of the
// cluster decides at a time, and the store commits a match only if all
// its tickets are still queued, so a ticket is matched at most once.
//
// Locks: passMu serializes the passes of one Service and is held while the
// matcher waits on the store and the rooms; nothing else is. Service.mu
// (the counters), idempotency.mu and limiter.mu are leaves: nothing else is
// locked while they are held, and none is held while calling Rooms, the
// store or Notify.
package matchmaking
