package store

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// ItemsFile caches, for the keyring backend, where the Secret Service
// keeps each account's item.
const ItemsFile = "keyring-items"

// maxItemsFile bounds what is read of ItemsFile; past it the cache is
// ignored (and rewritten when something is learned).
const maxItemsFile = 1 << 20

// itemHints is the cache in ItemsFile: for an account id, the object path
// of its item in the Secret Service as last found there, one "id path"
// line each. It holds no secret and decides nothing: a read through a
// hint checks the item's attributes (service and username) before it
// uses what it read, and searches as before when they differ or the item
// is gone. What it saves is the search: `latchkey code` sends GetSecret
// as soon as it has its session instead of after SearchItems, which
// gnome-keyring answers in 0.4-0.6 ms with 200 items.
//
// The cache is best effort: unreadable or garbled lines are ignored, it
// is written without fsync and without the store's lock (temp file and
// rename, so a reader never sees half of one; a store cleaning stale temp
// files may remove one being written, which loses that save), and two
// processes saving at once may drop each other's newest entries, which
// the next read learns again.
type itemHints struct {
	path string

	once sync.Once
	mu   sync.Mutex
	raw  []byte            // the file as first read
	set  map[string]string // learned since, "" for forgotten
}

func newItemHints(home string) *itemHints {
	return &itemHints{path: filepath.Join(home, ItemsFile)}
}

// load reads the file once; a lookup scans it rather than building a map
// first, since a `latchkey code` looks up one account.
func (h *itemHints) load() {
	h.once.Do(func() {
		h.raw = readHintsFile(h.path)
		h.set = map[string]string{}
	})
}

// get returns the hint for id, or "".
func (h *itemHints) get(id string) string {
	if h == nil {
		return ""
	}
	h.load()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.getLocked(id)
}

func (h *itemHints) getLocked(id string) string {
	if p, ok := h.set[id]; ok {
		return p
	}
	return lookupHint(h.raw, id)
}

// learned records where id's item was found.
func (h *itemHints) learned(id, path string) {
	if h == nil || !validID(id) || !validObjectPath(path) {
		return
	}
	h.load()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.getLocked(id) != path {
		h.set[id] = path
	}
}

// forget drops id's hint (its item is deleted).
func (h *itemHints) forget(id string) {
	if h == nil {
		return
	}
	h.load()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.getLocked(id) != "" {
		h.set[id] = ""
	}
}

// save writes what this process learned or forgot over the file as it
// is now (another process may have saved since this one read it); a
// cache left empty is removed. Errors are dropped: the cache only saves
// time.
func (h *itemHints) save() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.set) == 0 {
		return
	}
	m := parseHints(readHintsFile(h.path))
	for id, p := range h.set {
		if p == "" {
			delete(m, id)
		} else {
			m[id] = p
		}
	}
	clear(h.set)
	if len(m) == 0 {
		os.Remove(h.path)
		return
	}
	writeCache(h.path, formatHints(m))
}

// readHintsFile returns the file's bytes, or nothing if it is missing,
// unreadable or too large.
func readHintsFile(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxItemsFile+1))
	if err != nil || len(b) > maxItemsFile {
		return nil
	}
	return b
}

// lookupHint finds id's line in b; like parseHints, it takes only a valid
// id and a valid object path.
func lookupHint(b []byte, id string) string {
	if !validID(id) {
		return ""
	}
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		if len(line) > len(id) && line[len(id)] == ' ' && string(line[:len(id)]) == id {
			if p := string(line[len(id)+1:]); validObjectPath(p) {
				return p
			}
		}
	}
	return ""
}

// parseHints reads "id path" lines, skipping any line that is not a
// valid account id, one space and a valid D-Bus object path; the first
// line for an id counts, as in lookupHint.
func parseHints(b []byte) map[string]string {
	m := map[string]string{}
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		id, p, ok := bytes.Cut(line, []byte{' '})
		if ok && validID(string(id)) && validObjectPath(string(p)) {
			if _, dup := m[string(id)]; !dup {
				m[string(id)] = string(p)
			}
		}
	}
	return m
}

func formatHints(m map[string]string) []byte {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b []byte
	for _, id := range ids {
		b = append(b, id...)
		b = append(b, ' ')
		b = append(b, m[id]...)
		b = append(b, '\n')
	}
	return b
}

// validObjectPath reports whether p is a D-Bus object path ("/" or
// "/"-separated elements of [A-Za-z0-9_]) of a sane length: the bus
// drops a connection that sends anything else.
func validObjectPath(p string) bool {
	if len(p) == 0 || len(p) > 255 || p[0] != '/' {
		return false
	}
	if p == "/" {
		return true
	}
	prev := byte('/')
	for i := 1; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			if prev == '/' {
				return false
			}
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		default:
			return false
		}
		prev = c
	}
	return prev != '/'
}

// writeCache replaces path with data through a temp file and a rename,
// without fsync: what it writes can be lost, never half-written.
func writeCache(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
