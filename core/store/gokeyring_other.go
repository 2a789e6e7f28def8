//go:build !linux

package store

// admitGoKeyring is only needed for gnome-keyring (keyring_linux.go).
func admitGoKeyring() {}
