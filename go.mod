module github.com/tickroom/tickroom

go 1.26.0

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/jonboulle/clockwork v0.5.0
	github.com/lxzan/gws v1.8.9
	github.com/vmihailenco/msgpack/v5 v5.4.1
	go.uber.org/goleak v1.3.0
	golang.org/x/time v0.16.0
)

require (
	github.com/dolthub/maphash v0.1.0 // indirect
	github.com/klauspost/compress v1.17.9 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
)
