package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"filippo.io/age"
)

// maxWorkFactor bounds the scrypt work factor (log2 N) a vault may ask
// for when read: age's default, 2^18 with r=8, 256 MiB and about a second.
// A vault asking for more was not written by Latchkey and would cost up
// to 4 GiB of memory and a minute before the passphrase is even checked.
const maxWorkFactor = 18

// ErrWorkFactor means the vault asks for more scrypt work than
// maxWorkFactor; the file is left where it is.
var ErrWorkFactor = fmt.Errorf("the vault asks for more scrypt work than Latchkey allows (2^%d); it was not written by Latchkey", maxWorkFactor)

// decrypt opens an age file with the passphrase. The plaintext is read
// into into when it is given (and at least as long as the plaintext,
// which is shorter than data), else into a new buffer.
func decrypt(data, pass, into []byte) ([]byte, error) {
	if n, ok := scryptWorkFactor(data); ok && n > maxWorkFactor {
		return nil, ErrWorkFactor
	}
	id, err := age.NewScryptIdentity(string(pass))
	if err != nil {
		return nil, err
	}
	id.SetMaxWorkFactor(maxWorkFactor)
	r, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		if errors.Is(err, age.ErrIncorrectIdentity) {
			return nil, ErrBadPassphrase
		}
		return nil, err
	}
	if into == nil {
		return io.ReadAll(io.LimitReader(r, maxFileSize))
	}
	n, err := io.ReadFull(r, into)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return into[:n], nil
	case err != nil:
		clear(into)
		return nil, err
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		clear(into)
		return nil, errors.New("the plaintext is longer than the file")
	}
	return into, nil
}

func encrypt(plain, pass []byte, workFactor int) ([]byte, error) {
	r, err := age.NewScryptRecipient(string(pass))
	if err != nil {
		return nil, err
	}
	if workFactor > 0 {
		r.SetWorkFactor(workFactor)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// scryptWorkFactor reads the work factor of an age file's scrypt stanza
// ("-> scrypt SALT LOGN" in the text header), if it has one.
func scryptWorkFactor(data []byte) (int, bool) {
	hdr, _, _ := bytes.Cut(data, []byte("\n---"))
	for _, line := range bytes.Split(hdr, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) == 4 && f[0] == "->" && f[1] == "scrypt" {
			n, err := strconv.Atoi(f[3])
			return n, err == nil
		}
	}
	return 0, false
}
