package store

// osKeyring is the OS keyring through go-keyring. Where the platform has
// a faster way to read an item (the Secret Service, see keyring_linux.go)
// reads try it first and fall back to go-keyring for anything unusual
// (item not found, collection locked, no service).
type osKeyring struct {
	fast  *fastReader // nil where there is no fast path
	hints *itemHints  // where the fast path found items; nil: none kept
}

func newOSKeyring() *osKeyring { return &osKeyring{fast: newFastReader()} }

func (k *osKeyring) Set(service, user, password string) error {
	admitGoKeyring()
	if err := goKeyringSet(service, user, password); err != nil {
		return err
	}
	// Where the item is, so that even the first code reads it without a
	// search (0.4-0.6 ms off `latchkey code`; adding costs one search).
	if k.fast != nil {
		if path, ok := k.fast.find(service, user); ok {
			k.hints.learned(user, path)
		}
	}
	return nil
}

func (k *osKeyring) Delete(service, user string) error {
	admitGoKeyring()
	err := goKeyringDelete(service, user)
	if err == nil || isNotFound(err) {
		k.hints.forget(user)
	}
	return err
}

func (k *osKeyring) Get(service, user string) (string, error) {
	if k.fast != nil {
		hint := k.hints.get(user)
		if v, path, ok := k.fast.get(service, user, hint); ok {
			if path != hint {
				k.hints.learned(user, path)
			}
			return v, nil
		}
	}
	admitGoKeyring()
	return goKeyringGet(service, user)
}

func (k *osKeyring) connect() {
	if k.fast != nil {
		k.fast.connect()
	}
}

func (k *osKeyring) warm() {
	if k.fast != nil {
		k.fast.warm()
	}
}

// reset closes a connection made for nothing (the store turned out to
// use the file backend) and leaves an unconnected reader in its place,
// which connects only if the store migrates to the keyring.
func (k *osKeyring) reset() {
	if k.fast != nil {
		k.fast.close()
		k.fast = newFastReader()
	}
}

func (k *osKeyring) close() {
	k.hints.save()
	if k.fast != nil {
		k.fast.close()
	}
}
