//go:build !linux

package store

// fastReader is the fast read path, which only Linux's Secret Service
// has; elsewhere every read goes through go-keyring.
type fastReader struct{}

func newFastReader() *fastReader { return nil }

func (*fastReader) get(string, string, string) (string, string, bool) { return "", "", false }
func (*fastReader) find(string, string) (string, bool)                { return "", false }
func (*fastReader) close()                                            {}
func (*fastReader) warm()                                             {}
func (*fastReader) connect()                                          {}
