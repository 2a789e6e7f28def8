//go:build lean

package store

// The lean build (-tags lean, bin/latchkey) links neither age nor
// go-keyring (nor godbus and net beneath it): starting without them and
// their package initialisation saves `latchkey code` about half a
// millisecond. What needs them (the vault, writing to the keyring, a read
// the fast path cannot answer) fails with ErrNeedsFull, and the lean
// command hands itself over to latchkey-full, which does it all. A file
// store fails in Open, before anything asks for its passphrase.

const leanBuild = true

func decrypt(data, pass []byte) ([]byte, error)                  { return nil, ErrNeedsFull }
func encrypt(plain, pass []byte, workFactor int) ([]byte, error) { return nil, ErrNeedsFull }

func goKeyringSet(service, user, password string) error { return ErrNeedsFull }
func goKeyringDelete(service, user string) error        { return ErrNeedsFull }
func goKeyringGet(service, user string) (string, error) { return "", ErrNeedsFull }
func isNotFound(error) bool                             { return false }
func admitGoKeyring()                                   {}
