// Package migrationpb holds the protobuf messages of Google Authenticator's
// otpauth-migration:// export, generated from migration.proto by
// protoc-gen-go. Its String methods print secrets: never log its values.
package migrationpb
