package enroll

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// mapKeyring is an in-memory keyring.
type mapKeyring struct {
	mu sync.Mutex
	m  map[string]string
}

func (k *mapKeyring) Set(service, user, pw string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]string{}
	}
	k.m[service+"/"+user] = pw
	return nil
}

func (k *mapKeyring) Get(service, user string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[service+"/"+user]
	if !ok {
		return "", errors.New("secret not found in keyring")
	}
	return v, nil
}

func (k *mapKeyring) Delete(service, user string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, service+"/"+user)
	return nil
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	kr := &mapKeyring{}
	tk := Tokens{Home: t.TempDir(), Keyring: kr}
	if _, err := tk.Load(ctx, "https://a.example"); !errors.Is(err, ErrNoToken) {
		t.Fatalf("empty Load: %v", err)
	}
	if err := tk.Save(ctx, "https://a.example/", "token-one"); err != nil {
		t.Fatal(err)
	}
	if err := tk.Save(ctx, "https://b.example", "token-b"); err != nil {
		t.Fatal(err)
	}
	if err := tk.Save(ctx, "https://a.example", "token-two"); err != nil {
		t.Fatal(err)
	}
	if got, err := tk.Load(ctx, "https://a.example"); err != nil || got != "token-two" {
		t.Fatalf("Load a = %q, %v", got, err)
	}
	if got, _ := tk.Load(ctx, "https://b.example"); got != "token-b" {
		t.Fatalf("Load b = %q", got)
	}
	n := 0
	for k := range kr.m {
		if !strings.HasSuffix(k, "latchkey-generation") { // the store's own record, not a token
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d keyring items, want 2 (the replaced token removed)", n)
	}
	for _, v := range kr.m {
		if v == "token-one" {
			t.Error("the replaced token is still in the keyring")
		}
	}
	if err := tk.Forget(ctx, "https://a.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Load(ctx, "https://a.example"); !errors.Is(err, ErrNoToken) {
		t.Errorf("Load after Forget: %v", err)
	}
}
