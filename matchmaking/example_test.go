package matchmaking_test

import (
	"log/slog"
	"time"

	"github.com/tickroom/tickroom/games/arena"
	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/player"
	"github.com/tickroom/tickroom/room"
	"github.com/tickroom/tickroom/server"
)

// Wiring the API into a server, as cmd/tickroom does: the service gets the
// room manager, the token verifier and the registry's Send for `matched`
// pushes, and its handler is served under /v1/.
func ExampleNew() {
	typ, _ := arena.Type(arena.Options{})
	rooms, _ := room.NewManager(room.Config{Types: []*room.Type{typ}})
	defer rooms.Close()
	tokens, _ := player.NewTokens(player.TokenConfig{Secret: player.RandomSecret()})
	players := player.NewRegistry()

	mm, err := matchmaking.New(matchmaking.Config{
		Rooms:     rooms,
		Tokens:    tokens,
		Notify:    players.Send,
		APIKey:    "a-long-random-api-key",
		PublicURL: "https://play.example.com",
		Logger:    slog.Default(),
		Modes: []matchmaking.Mode{{
			Name: "arena", MaxPlayers: 10, Teams: 2, // 5v5
			Window:  matchmaking.Window{Start: 100, GrowthPerSecond: 25, Max: 800},
			MaxWait: 30 * time.Second, AllowPartial: true, MinPlayers: 6,
		}},
	})
	if err != nil {
		panic(err)
	}
	defer mm.Close() // after the server's Close, before the rooms'

	srv, _ := server.New(server.Config{Tokens: tokens, Rooms: rooms, Players: players, API: mm.Handler()})
	defer srv.Close()
	// http.ListenAndServe(addr, srv.Handler())
}
