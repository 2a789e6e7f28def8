// Package device is the authenticator's side of sign-in approval over
// OpenID CIBA: a paired account's Ed25519 device key, the signatures the
// server checks (wire.go, shared with server/oidc/grants/ciba), and the
// client that pairs an account and lists and answers its requests.
//
// The private key is kept where the account's secret is (the OS keyring
// or the age vault, through core/store), never in a plain file.
package device
