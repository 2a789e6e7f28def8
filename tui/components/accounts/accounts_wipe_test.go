package accounts

import (
	"testing"
	"time"

	"latchkey/core/otp"
)

// TestSetItemsWipesDroppedGenerators: the generator of an account that is
// no longer listed (deleted, or replaced by a reload) gives its key
// material back; the generators still listed keep working.
func TestSetItemsWipesDroppedGenerators(t *testing.T) {
	gen := func() *otp.Generator {
		g, err := otp.NewGenerator([]byte("12345678901234567890"), otp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	keep, drop := gen(), gen()
	want := keep.Code(1)
	var m Model
	m.now = time.Unix(59, 0)
	m.SetItems([]Item{{ID: "a", Gen: keep}, {ID: "b", Gen: drop}})
	m.SetItems([]Item{{ID: "a", Gen: keep}})
	if got := keep.Code(1); got != want {
		t.Fatalf("a kept generator changed: %s, want %s", got, want)
	}
	for c := range uint64(3) {
		if drop.Code(c) != "000000" {
			t.Fatal("the dropped generator still computes codes")
		}
	}
}
