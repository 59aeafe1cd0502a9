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
// Concurrency: HTTP handlers run on net/http's goroutines. One matcher
// goroutine, started by New and stopped by Close, makes every queue
// decision — one pass per Config.Interval on the injected clock — so a
// ticket is matched at most once.
//
// Lock order: Service.mu, then the Rooms implementation's own locks (the
// matcher reserves seats while holding Service.mu). idempotency.mu and
// limiter.mu are leaves: nothing else is locked while they are held, and
// neither is held while calling Rooms. Notify is never called with a lock held.
package matchmaking
