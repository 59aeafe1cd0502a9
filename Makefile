# tickroom — two commands do all set-up on a fresh machine: `make run` and `make test`.
GO       ?= go
ADDR     ?= 127.0.0.1:8080
BIN      := bin/tickroom
FUZZTIME ?= 30s

.PHONY: all build run test vet fuzz bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/tickroom

## run: the server with the demo game (arena) on $(ADDR)
run: build
	./$(BIN) serve --addr $(ADDR)

## test: vet and every test with the race detector
test: vet
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...

## fuzz: each fuzz target of client-facing decoders for $(FUZZTIME)
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzCheckValue$$' -fuzztime=$(FUZZTIME) ./netcode/
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeClient$$' -fuzztime=$(FUZZTIME) ./netcode/
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeServer$$' -fuzztime=$(FUZZTIME) ./netcode/
	$(GO) test -run='^$$' -fuzz='^FuzzApplyDelta$$' -fuzztime=$(FUZZTIME) ./netcode/

## bench: Go micro-benchmarks of the hot paths
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./netcode/ ./room/ ./player/

clean:
	rm -rf bin
