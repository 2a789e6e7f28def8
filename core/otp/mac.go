package otp

import (
	"bytes"
	"crypto/hmac"
	"encoding"
	"encoding/binary"
	"hash"
)

// mac computes HMAC(secret, counter) for 8-byte counters, the only message
// HOTP ever signs. It is not safe for concurrent use; Generator guards it.
//
// Two paths give the same bytes. The plain path is crypto/hmac. The fast
// path exploits that the message is short and of fixed length: the inner
// message (8 bytes) and the outer one (one digest) each fit, padding
// included, in a single hash block after the key block. So each code costs
// exactly two block compressions, started from hash states saved after the
// key blocks; the digest is read from the hash's marshaled state instead
// of through Sum, which would copy the state and pad again. newMAC checks
// the fast path against crypto/hmac and falls back to the plain path if
// they ever disagree (say, under a hash implementation that marshals
// differently).
type mac struct {
	plain hash.Hash // nil when the fast path is used
	sum   []byte    // plain path's output buffer

	size           int // digest size
	inner, outer   hash.Hash
	istate, ostate []byte // marshaled states after the ipad and opad blocks
	iblock, oblock []byte // the final blocks, pre-padded
	buf            []byte // marshaled-state scratch
	wiped          []byte // zeros, once wipe has run
}

// wipe clears the states derived from the key. Afterwards compute
// returns zeros.
func (m *mac) wipe() {
	n := m.size
	if m.plain != nil {
		// crypto/hmac's Reset restores the key state rather than
		// clearing it: drop it and let the collector have it.
		n = m.plain.Size()
		m.plain = nil
	}
	clear(m.istate)
	clear(m.ostate)
	clear(m.buf)
	clear(m.sum)
	if m.inner != nil {
		m.inner.Reset()
		m.outer.Reset()
	}
	m.wiped = make([]byte, n)
}

type marshaler interface {
	encoding.BinaryUnmarshaler
	encoding.BinaryAppender
	encoding.BinaryMarshaler
}

// stateMagic is the length of the format tag that the standard library's
// hashes put before their chaining state when marshaling.
const stateMagic = 4

func newMAC(newHash func() hash.Hash, secret []byte) *mac {
	fast := newFastMAC(newHash, secret)
	if fast != nil {
		// Self-check against crypto/hmac on a few counters.
		ref := hmac.New(newHash, secret)
		for _, c := range []uint64{0, 1, 1 << 40, ^uint64(0)} {
			var msg [8]byte
			binary.BigEndian.PutUint64(msg[:], c)
			ref.Reset()
			ref.Write(msg[:])
			if !bytes.Equal(ref.Sum(nil), fast.compute(c)) {
				fast = nil
				break
			}
		}
	}
	if fast != nil {
		return fast
	}
	h := hmac.New(newHash, secret)
	return &mac{plain: h, sum: make([]byte, 0, h.Size()), buf: make([]byte, 8)}
}

func newFastMAC(newHash func() hash.Hash, secret []byte) *mac {
	inner, outer := newHash(), newHash()
	im, ok1 := inner.(marshaler)
	_, ok2 := outer.(marshaler)
	if !ok1 || !ok2 {
		return nil
	}
	bs, size := inner.BlockSize(), inner.Size()
	lenField := 8
	if bs == 128 {
		lenField = 16
	}
	if 8+1+lenField > bs || size+1+lenField > bs {
		return nil
	}

	key := secret
	if len(key) > bs {
		h := newHash()
		h.Write(key)
		key = h.Sum(nil)
	}
	ipad := make([]byte, bs)
	opad := make([]byte, bs)
	copy(ipad, key)
	copy(opad, key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	inner.Write(ipad)
	outer.Write(opad)
	istate, err1 := im.MarshalBinary()
	ostate, err2 := outer.(marshaler).MarshalBinary()
	clear(ipad)
	clear(opad)
	if err1 != nil || err2 != nil || len(istate) < stateMagic+size {
		return nil
	}

	return &mac{
		size: size, inner: inner, outer: outer, istate: istate, ostate: ostate,
		iblock: padBlock(bs, 8), oblock: padBlock(bs, size),
		buf: make([]byte, 0, len(istate)),
	}
}

// padBlock returns a final hash block for a message of n bytes following
// one key block: room for the message, the 0x80 marker, and the total
// length in bits at the end (for SHA-512's 128-bit length field, the high
// half stays zero).
func padBlock(bs, n int) []byte {
	b := make([]byte, bs)
	b[n] = 0x80
	binary.BigEndian.PutUint64(b[bs-8:], uint64(bs+n)*8)
	return b
}

// compute returns HMAC(secret, BE64(counter)). The result aliases internal
// buffers and is valid until the next call.
func (m *mac) compute(counter uint64) []byte {
	if m.wiped != nil {
		return m.wiped
	}
	if m.plain != nil {
		binary.BigEndian.PutUint64(m.buf[:8], counter)
		m.plain.Reset()
		m.plain.Write(m.buf[:8])
		return m.plain.Sum(m.sum[:0])
	}
	binary.BigEndian.PutUint64(m.iblock[:8], counter)
	m.inner.(marshaler).UnmarshalBinary(m.istate)
	m.inner.Write(m.iblock)
	st, _ := m.inner.(marshaler).AppendBinary(m.buf[:0])
	copy(m.oblock[:m.size], st[stateMagic:stateMagic+m.size])

	m.outer.(marshaler).UnmarshalBinary(m.ostate)
	m.outer.Write(m.oblock)
	st, _ = m.outer.(marshaler).AppendBinary(m.buf[:0])
	return st[stateMagic : stateMagic+m.size]
}
