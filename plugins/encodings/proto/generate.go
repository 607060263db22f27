// Package proto holds the gRPC service of encoding plugins, generated from
// encoding.proto. Regenerate with `go generate` (needs protoc,
// protoc-gen-go and protoc-gen-go-grpc on PATH).
package proto

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative encoding.proto
