package device

import (
	"errors"
	"testing"
	"time"
)

func TestRequestSignature(t *testing.T) {
	seed, pub := NewKey()
	key, err := Key(seed)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPub := NewKey()
	now := time.Unix(1_800_000_000, 0)
	h, err := SignRequest(key, "dev1", "GET", "/api/v1/device/requests", now)
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifyRequest(h, pub, "GET", "/api/v1/device/requests", now.Add(30*time.Second))
	if err != nil || v.Device != "dev1" || v.JTI == "" || !v.Expires.Equal(now.Add(MaxRequestAge)) {
		t.Fatalf("verify: %+v %v", v, err)
	}
	for name, c := range map[string]struct {
		h, method, path string
		pub             []byte
		at              time.Time
	}{
		"other method": {h, "POST", "/api/v1/device/requests", pub, now},
		"other path":   {h, "GET", "/api/v1/device", pub, now},
		"other key":    {h, "GET", "/api/v1/device/requests", otherPub, now},
		"expired":      {h, "GET", "/api/v1/device/requests", pub, now.Add(MaxRequestAge)},
		"from future":  {h, "GET", "/api/v1/device/requests", pub, now.Add(-2 * MaxRequestAge)},
		"no scheme":    {h[len(AuthScheme)+1:], "GET", "/api/v1/device/requests", pub, now},
		"garbage":      {AuthScheme + " x.y.z", "GET", "/api/v1/device/requests", pub, now},
	} {
		if _, err := VerifyRequest(c.h, c.pub, c.method, c.path, c.at); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A request signature is no answer, and an answer no request.
	if _, err := VerifyAnswer(h[len(AuthScheme)+1:], pub, now); !errors.Is(err, ErrSignature) {
		t.Errorf("request accepted as an answer: %v", err)
	}
	a := Answer{Device: "dev1", AuthReqID: "r1", BindingMessage: "Order 42", Decision: Approve, IssuedAt: now.Unix(), Code: "123456"}
	signed, err := SignAnswer(key, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyRequest(AuthScheme+" "+signed, pub, "GET", "/", now); !errors.Is(err, ErrSignature) {
		t.Errorf("answer accepted as a request: %v", err)
	}
	got, err := VerifyAnswer(signed, pub, now.Add(10*time.Second))
	if err != nil || got != a {
		t.Fatalf("answer: %+v %v", got, err)
	}
	if id, err := KeyID(signed); err != nil || id != "dev1" {
		t.Errorf("KeyID: %q %v", id, err)
	}
	if _, err := VerifyAnswer(signed, otherPub, now); !errors.Is(err, ErrSignature) {
		t.Errorf("answer under another key: %v", err)
	}
	if _, err := VerifyAnswer(signed, pub, now.Add(2*MaxRequestAge)); !errors.Is(err, ErrSignature) {
		t.Errorf("stale answer: %v", err)
	}
	if _, err := SignAnswer(key, Answer{Device: "dev1", Decision: "maybe"}); err == nil {
		t.Error("signed a decision that is neither approve nor deny")
	}
}
