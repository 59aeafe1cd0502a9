// Package matchmaking will own the HTTP matchmaking API: join-or-create with
// seat reservations, and ticket queues with rating windows. It is empty
// until its issue; rooms are joined directly over the WebSocket for now.
package matchmaking
