//go:build linux

package store

import (
	"encoding/binary"
	"errors"
	"io"
)

// The few D-Bus messages the Secret Service fast path sends and reads,
// in the wire format of the D-Bus specification ("Message Protocol").
// godbus encodes and decodes any message through reflection, which in a
// process that has just started costs 50 to 200 µs a message, on the
// critical path of `latchkey code`; these fixed shapes take a few
// microseconds. TestWireAgainstGodbus holds both directions to godbus,
// FuzzReadReply the reader to arbitrary input.

// Message types and header fields of the specification.
const (
	msgMethodCall  = 1
	msgMethodReply = 2
	msgError       = 3
	msgSignal      = 4

	fieldPath        = 1
	fieldInterface   = 2
	fieldMember      = 3
	fieldErrorName   = 4
	fieldReplySerial = 5
	fieldDestination = 6
	fieldSignature   = 8

	// maxReply bounds a message the fast path reads; replies to its calls
	// are a few hundred bytes.
	maxReply = 1 << 20
)

var errWire = errors.New("store: unexpected D-Bus message")

// wireWriter appends little-endian D-Bus values; offsets for alignment
// count from the start of b, so b must start where a message or a body
// does (both are 8-aligned).
type wireWriter struct{ b []byte }

func (w *wireWriter) pad(n int) {
	for len(w.b)%n != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *wireWriter) u32(v uint32) {
	w.pad(4)
	w.b = binary.LittleEndian.AppendUint32(w.b, v)
}

// str writes a STRING or an OBJECT_PATH.
func (w *wireWriter) str(s string) {
	w.u32(uint32(len(s)))
	w.b = append(w.b, s...)
	w.b = append(w.b, 0)
}

func (w *wireWriter) sig(s string) {
	w.b = append(w.b, byte(len(s)))
	w.b = append(w.b, s...)
	w.b = append(w.b, 0)
}

// field writes one header field, a STRUCT of BYTE and VARIANT.
func (w *wireWriter) field(code byte, typ byte, v string) {
	w.pad(8)
	w.b = append(w.b, code)
	w.sig(string(typ))
	if typ == 'g' {
		w.sig(v)
	} else {
		w.str(v)
	}
}

// appendCall appends a METHOD_CALL with the given serial, header and an
// already encoded body of signature sig.
func appendCall(dst []byte, serial uint32, dest, path, iface, member, sig string, body []byte) []byte {
	var w wireWriter
	w.b = append(w.b, 'l', msgMethodCall, 0, 1)
	w.u32(uint32(len(body)))
	w.u32(serial)
	w.u32(0) // the fields' length, set below
	start := len(w.b)
	w.field(fieldPath, 'o', path)
	w.field(fieldDestination, 's', dest)
	w.field(fieldInterface, 's', iface)
	w.field(fieldMember, 's', member)
	if sig != "" {
		w.field(fieldSignature, 'g', sig)
	}
	binary.LittleEndian.PutUint32(w.b[12:], uint32(len(w.b)-start))
	w.pad(8)
	w.b = append(w.b, body...)
	return append(dst, w.b...)
}

// Bodies of the calls.

func bodyOpenSession() []byte { // "sv": "plain", <"">
	var w wireWriter
	w.str("plain")
	w.sig("s")
	w.str("")
	return w.b
}

func bodySearch(attrs [][2]string) []byte { // "a{ss}"
	var w wireWriter
	w.u32(0)
	w.pad(8)
	start := len(w.b)
	for _, kv := range attrs {
		w.pad(8)
		w.str(kv[0])
		w.str(kv[1])
	}
	binary.LittleEndian.PutUint32(w.b[0:], uint32(len(w.b)-start))
	return w.b
}

func bodyPath(p string) []byte { // "o"
	var w wireWriter
	w.str(p)
	return w.b
}

// reply is what the fast path (and its tests' fake bus) needs of a
// message it reads.
type reply struct {
	typ         byte
	serial      uint32
	replySerial uint32
	path        string // of a call or signal
	member      string
	sig         string
	body        wireReader
}

// readReply reads one whole message from r.
func readReply(r io.Reader) (reply, error) {
	var fixed [16]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return reply{}, err
	}
	var order binary.ByteOrder
	switch fixed[0] {
	case 'l':
		order = binary.LittleEndian
	case 'B':
		order = binary.BigEndian
	default:
		return reply{}, errWire
	}
	if fixed[3] != 1 {
		return reply{}, errWire
	}
	bodyLen, fieldsLen := order.Uint32(fixed[4:]), order.Uint32(fixed[12:])
	headLen := (16 + uint64(fieldsLen) + 7) &^ 7
	if headLen+uint64(bodyLen) > maxReply {
		return reply{}, errWire
	}
	msg := make([]byte, headLen+uint64(bodyLen))
	copy(msg, fixed[:])
	if _, err := io.ReadFull(r, msg[16:]); err != nil {
		return reply{}, err
	}
	m := reply{typ: fixed[1], serial: order.Uint32(fixed[8:])}
	h := wireReader{b: msg[:16+fieldsLen], i: 16, order: order}
	for h.i < len(h.b) && h.err == nil {
		h.pad(8)
		code := h.byte()
		typ := h.sig()
		switch {
		case code == fieldReplySerial && typ == "u":
			m.replySerial = h.u32()
		case code == fieldSignature && typ == "g":
			m.sig = h.sig()
		case code == fieldMember && typ == "s":
			m.member = h.str()
		case code == fieldPath && typ == "o":
			m.path = h.str()
		default:
			h.skip(typ)
		}
	}
	if h.err != nil {
		return reply{}, h.err
	}
	m.body = wireReader{b: msg[headLen:], order: order}
	return m, nil
}

// wireReader reads D-Bus values from b; the first error sticks and every
// later read returns zero values.
type wireReader struct {
	b     []byte
	i     int
	order binary.ByteOrder
	err   error
}

func (r *wireReader) fail() { r.err, r.i = errWire, len(r.b) }

func (r *wireReader) pad(n int) {
	for r.i%n != 0 {
		if r.i >= len(r.b) || r.b[r.i] != 0 {
			r.fail()
			return
		}
		r.i++
	}
}

func (r *wireReader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.i {
		r.fail()
		return nil
	}
	v := r.b[r.i : r.i+n]
	r.i += n
	return v
}

func (r *wireReader) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *wireReader) u32() uint32 {
	r.pad(4)
	if b := r.bytes(4); b != nil {
		return r.order.Uint32(b)
	}
	return 0
}

// str reads a STRING or an OBJECT_PATH.
func (r *wireReader) str() string {
	n := r.u32()
	b := r.bytes(int(n) + 1)
	if b == nil || b[n] != 0 {
		r.fail()
		return ""
	}
	return string(b[:n])
}

func (r *wireReader) sig() string {
	n := r.byte()
	b := r.bytes(int(n) + 1)
	if b == nil || b[n] != 0 {
		r.fail()
		return ""
	}
	return string(b[:n])
}

// byteArray reads an ARRAY of BYTE.
func (r *wireReader) byteArray() []byte {
	n := r.u32()
	return r.bytes(int(n))
}

// pathArray reads an ARRAY of OBJECT_PATH.
func (r *wireReader) pathArray() []string {
	n := r.u32()
	end := r.i + int(n)
	if r.err != nil || n > uint32(len(r.b)-r.i) {
		r.fail()
		return nil
	}
	var out []string
	for r.i < end && r.err == nil {
		out = append(out, r.str())
	}
	if r.i != end {
		r.fail()
	}
	return out
}

// stringDict reads an ARRAY of DICT_ENTRY of two STRINGs (a{ss}), handing
// each pair to fn.
func (r *wireReader) stringDict(fn func(k, v string)) {
	n := r.u32()
	r.pad(8)
	end := r.i + int(n)
	if r.err != nil || n > uint32(len(r.b)-r.i) {
		r.fail()
		return
	}
	for r.i < end && r.err == nil {
		r.pad(8)
		k := r.str()
		v := r.str()
		if r.err == nil {
			fn(k, v)
		}
	}
	if r.i != end {
		r.fail()
	}
}

// skip reads past one value of a basic type, a variant holding one, or
// an array of bytes; anything else is more than the fast path expects.
func (r *wireReader) skip(typ string) {
	switch typ {
	case "y":
		r.byte()
	case "b", "i", "u":
		r.u32()
	case "n", "q":
		r.pad(2)
		r.bytes(2)
	case "x", "t", "d":
		r.pad(8)
		r.bytes(8)
	case "s", "o":
		r.str()
	case "g":
		r.sig()
	case "v":
		if t := r.sig(); t != "v" {
			r.skip(t)
		} else {
			r.fail()
		}
	case "ay":
		r.byteArray()
	default:
		r.fail()
	}
}

// done reports whether the whole body was read without error.
func (r *wireReader) done() bool { return r.err == nil && r.i == len(r.b) }
