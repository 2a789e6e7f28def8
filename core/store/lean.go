//go:build lean

package store

// The lean build (-tags lean, bin/latchkey) links neither age nor, on
// Linux, go-keyring (nor godbus and net beneath it; lean_linux.go):
// starting without them and their package initialisation saves `latchkey
// code` about half a millisecond. What needs them (the vault; on Linux
// writing to the keyring, or a read the fast path cannot answer) fails
// with ErrNeedsFull, and the lean command hands itself over to
// latchkey-full, which does it all. A file store fails in Open, before
// anything asks for its passphrase. Elsewhere, with no fast path, the
// lean build keeps go-keyring, so that a code is read without a hand-over.

const leanBuild = true

func decrypt(data, pass []byte) ([]byte, error)                  { return nil, ErrNeedsFull }
func encrypt(plain, pass []byte, workFactor int) ([]byte, error) { return nil, ErrNeedsFull }
