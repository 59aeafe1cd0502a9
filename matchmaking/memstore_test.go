package matchmaking_test

import (
	"testing"

	"github.com/tickroom/tickroom/matchmaking"
	"github.com/tickroom/tickroom/matchmaking/ticketstoretest"
)

func TestMemoryTicketStore(t *testing.T) {
	ticketstoretest.Run(t, func(*testing.T) matchmaking.TicketStore { return matchmaking.NewMemoryTicketStore() })
}
