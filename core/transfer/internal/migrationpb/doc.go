// Package migrationpb holds the protobuf messages of Google Authenticator's
// otpauth-migration:// export, generated from migration.proto by
// protoc-gen-go. Its String methods print secrets: never log its values.
//
// Regenerate with `go generate` here; it needs protoc 3.21.12 (Debian 12's
// protobuf-compiler) and pins protoc-gen-go to the protobuf module's
// version in go.mod.
package migrationpb

//go:generate go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//go:generate sh -c "protoc --plugin=protoc-gen-go=$(go env GOPATH)/bin/protoc-gen-go --go_out=. --go_opt=paths=source_relative migration.proto"
