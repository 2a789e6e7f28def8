//go:build linux

package store

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/godbus/dbus/v5"
)

// TestWireAgainstGodbus holds the hand-written D-Bus messages to godbus:
// godbus decodes the calls to the intended header and body, and the
// reader takes godbus's replies, in either byte order, to the values
// godbus put in.
func TestWireAgainstGodbus(t *testing.T) {
	attrs := [][2]string{{"service", "latchkey"}, {"username", "0123456789abcdef"}, {"x", ""}, {"été", "a\x01b"}}
	calls := []struct {
		dest, path, iface, member, sig string
		body                           []byte
		want                           []any
	}{
		{"org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", "", nil, nil},
		{ssName, ssPath, ssService, "OpenSession", "sv", bodyOpenSession(), []any{"plain", dbus.MakeVariant("")}},
		{ssName, ssPath, ssService, "SearchItems", "a{ss}", bodySearch(attrs), []any{map[string]string{"service": "latchkey", "username": "0123456789abcdef", "x": "", "été": "a\x01b"}}},
		{ssName, ssPath, ssService, "SearchItems", "a{ss}", bodySearch(nil), []any{map[string]string{}}},
		{ssName, "/org/freedesktop/secrets/collection/login/12", "org.freedesktop.Secret.Item", "GetSecret", "o", bodyPath("/org/freedesktop/secrets/session/s3"), []any{dbus.ObjectPath("/org/freedesktop/secrets/session/s3")}},
	}
	for i, c := range calls {
		b := appendCall([]byte("prefix"), uint32(i+7), c.dest, c.path, c.iface, c.member, c.sig, c.body)
		if !bytes.HasPrefix(b, []byte("prefix")) {
			t.Fatal("appendCall lost what it appended to")
		}
		m, err := dbus.DecodeMessage(bytes.NewReader(b[len("prefix"):]))
		if err != nil {
			t.Fatalf("%s: godbus: %v", c.member, err)
		}
		if m.Type != dbus.TypeMethodCall || m.Serial() != uint32(i+7) || m.Flags != 0 {
			t.Errorf("%s: type %v serial %d flags %v", c.member, m.Type, m.Serial(), m.Flags)
		}
		head := map[dbus.HeaderField]any{
			dbus.FieldDestination: c.dest, dbus.FieldPath: dbus.ObjectPath(c.path),
			dbus.FieldInterface: c.iface, dbus.FieldMember: c.member,
		}
		if c.sig != "" {
			head[dbus.FieldSignature] = dbus.ParseSignatureMust(c.sig)
		}
		for f, v := range head {
			if got := m.Headers[f].Value(); !reflect.DeepEqual(got, v) {
				t.Errorf("%s: header %d = %#v, want %#v", c.member, f, got, v)
			}
		}
		if len(m.Headers) != len(head) {
			t.Errorf("%s: %d header fields, want %d", c.member, len(m.Headers), len(head))
		}
		if len(m.Body) != len(c.want) || (len(c.want) > 0 && !reflect.DeepEqual(m.Body, c.want)) {
			t.Errorf("%s: body %#v, want %#v", c.member, m.Body, c.want)
		}
	}

	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		enc := func(typ dbus.Type, head map[dbus.HeaderField]dbus.Variant, body ...any) []byte {
			t.Helper()
			if len(body) > 0 {
				head[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(body...))
			}
			var buf bytes.Buffer
			if err := (&dbus.Message{Type: typ, Headers: head, Body: body}).EncodeTo(&buf, order); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}
		replyTo := func(serial uint32) map[dbus.HeaderField]dbus.Variant {
			return map[dbus.HeaderField]dbus.Variant{
				dbus.FieldReplySerial: dbus.MakeVariant(serial),
				dbus.FieldSender:      dbus.MakeVariant(":1.42"),
				dbus.FieldDestination: dbus.MakeVariant(":1.7"),
			}
		}
		type secret struct {
			Session     dbus.ObjectPath
			Parameters  []byte
			Value       []byte
			ContentType string
		}
		var stream []byte
		stream = append(stream, enc(dbus.TypeSignal, map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath: dbus.MakeVariant(dbus.ObjectPath("/org/freedesktop/DBus")), dbus.FieldInterface: dbus.MakeVariant("org.freedesktop.DBus"),
			dbus.FieldMember: dbus.MakeVariant("NameAcquired")}, ":1.7")...)
		stream = append(stream, enc(dbus.TypeMethodReply, replyTo(1), ":1.7")...)
		stream = append(stream, enc(dbus.TypeMethodReply, replyTo(2), dbus.MakeVariant(""), dbus.ObjectPath("/org/freedesktop/secrets/session/s9"))...)
		stream = append(stream, enc(dbus.TypeMethodReply, replyTo(3), []dbus.ObjectPath{"/a/b", "/org/freedesktop/secrets/collection/login/1"}, []dbus.ObjectPath{"/c"})...)
		stream = append(stream, enc(dbus.TypeMethodReply, replyTo(4), secret{"/s", []byte{}, []byte("JBSWY3DPEHPK3PXP"), "text/plain"})...)
		errHead := replyTo(5)
		errHead[dbus.FieldErrorName] = dbus.MakeVariant("org.freedesktop.Secret.Error.NoSession")
		stream = append(stream, enc(dbus.TypeError, errHead, "no such session")...)
		attrs := map[string]string{"service": "latchkey", "username": "0123456789abcdef", "xdg:schema": "org.freedesktop.Secret.Generic", "": "é"}
		stream = append(stream, enc(dbus.TypeMethodReply, replyTo(6), dbus.MakeVariant(attrs))...)

		r := bytes.NewReader(stream)
		next := func(typ byte, serial uint32, sig string) wireReader {
			t.Helper()
			m, err := readReply(r)
			if err != nil || m.typ != typ || m.replySerial != serial || m.sig != sig {
				t.Fatalf("%v: got %+v, %v; want type %d serial %d sig %q", order, m, err, typ, serial, sig)
			}
			return m.body
		}
		sig, err := readReply(bytes.NewReader(stream))
		if err != nil || sig.path != "/org/freedesktop/DBus" || sig.member != "NameAcquired" {
			t.Errorf("signal header: %+v %v", sig, err)
		}
		b := next(msgSignal, 0, "s")
		if b.str() != ":1.7" || !b.done() {
			t.Error("signal body")
		}
		b = next(msgMethodReply, 1, "s")
		if b.str() != ":1.7" || !b.done() {
			t.Error("Hello body")
		}
		b = next(msgMethodReply, 2, "vo")
		b.skip("v")
		if b.str() != "/org/freedesktop/secrets/session/s9" || !b.done() {
			t.Error("OpenSession body")
		}
		b = next(msgMethodReply, 3, "aoao")
		if u, l := b.pathArray(), b.pathArray(); !reflect.DeepEqual(u, []string{"/a/b", "/org/freedesktop/secrets/collection/login/1"}) || !reflect.DeepEqual(l, []string{"/c"}) || !b.done() {
			t.Errorf("SearchItems body %q %q", u, l)
		}
		b = next(msgMethodReply, 4, "(oayays)")
		if b.str() != "/s" || len(b.byteArray()) != 0 || string(b.byteArray()) != "JBSWY3DPEHPK3PXP" || b.str() != "text/plain" || !b.done() {
			t.Error("GetSecret body")
		}
		next(msgError, 5, "s")
		b = next(msgMethodReply, 6, "v")
		got := map[string]string{}
		if b.sig() != "a{ss}" {
			t.Error("Attributes signature")
		}
		b.stringDict(func(k, v string) { got[k] = v })
		if !reflect.DeepEqual(got, attrs) || !b.done() {
			t.Errorf("Attributes body %q", got)
		}
		if _, err := readReply(r); err == nil {
			t.Error("read past the end")
		}
	}
}

// FuzzReadReply feeds the reply reader arbitrary bytes: it must not
// panic, read more than it was given or accept a body it cannot walk.
func FuzzReadReply(f *testing.F) {
	var buf bytes.Buffer
	(&dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldReplySerial: dbus.MakeVariant(uint32(3)),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf([]dbus.ObjectPath{}, []dbus.ObjectPath{})),
	}, Body: []any{[]dbus.ObjectPath{"/a"}, []dbus.ObjectPath{}}}).EncodeTo(&buf, binary.BigEndian)
	f.Add(buf.Bytes())
	f.Add(appendCall(nil, 1, ssName, ssPath, ssService, "SearchItems", "a{ss}", bodySearch([][2]string{{"a", "b"}})))
	f.Add([]byte("l\x02\x01\x01\x00\x00\x00\x00\x01\x00\x00\x00\xff\xff\xff\x7f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := readReply(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, walk := range []func(b *wireReader){
			func(b *wireReader) { b.skip("v"); b.str() },
			func(b *wireReader) { b.pathArray(); b.pathArray() },
			func(b *wireReader) { b.str(); b.byteArray(); b.byteArray(); b.str() },
		} {
			b := m.body
			walk(&b)
			if b.i > len(b.b) {
				t.Fatalf("read past the body: %d of %d", b.i, len(b.b))
			}
		}
	})
}
