// Package proto holds the gRPC protocol spoken between the corebridge host
// and storage plugins. The Go files are generated from storage.proto.
package proto

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative storage.proto
