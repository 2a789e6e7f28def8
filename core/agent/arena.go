package agent

import "sync"

// arenaRegion is the smallest region an arena maps at once: 200 accounts'
// secrets and their vault's plaintext (60 KiB) fit in two.
const arenaRegion = 64 << 10

// arena hands out bytes from locked pages (lockedBytes) for the unlocked
// vault (store.Options.Memory): its plaintext while it is read, its
// secrets and device keys. Nothing is given back before free, which
// wipes and unmaps every region at once, when the agent locks.
type arena struct {
	mu      sync.Mutex
	rest    []byte   // what is left of the last region
	frees   []func() // one per region
	size    int      // bytes mapped
	allRAM  bool     // every region locked in RAM (mlock)
	limit   int      // the most it maps; past that alloc says nil (the heap)
	refused bool     // alloc said nil at least once
}

func newArena(limit int) *arena { return &arena{allRAM: true, limit: limit} }

// alloc returns n zeroed bytes of locked memory, or nil when the arena is
// full or no memory can be mapped: the store then keeps them on the heap.
func (a *arena) alloc(n int) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if n <= 0 {
		return nil
	}
	if n > len(a.rest) {
		size := max(n, arenaRegion)
		if a.size+size > a.limit {
			a.refused = true
			return nil
		}
		b, locked, free, err := lockedBytes(size)
		if err != nil {
			a.refused = true
			return nil
		}
		a.frees = append(a.frees, free)
		a.size += size
		a.allRAM = a.allRAM && locked
		a.rest = b
	}
	out := a.rest[:n:n]
	a.rest = a.rest[n:]
	return out
}

// stats tells how much is mapped, whether all of it is locked in RAM, and
// whether some request went to the heap.
func (a *arena) stats() (size int, allRAM, refused bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.size, a.allRAM, a.refused
}

// free wipes and unmaps every region; nothing may use them after.
func (a *arena) free() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range a.frees {
		f()
	}
	a.frees, a.rest, a.size = nil, nil, 0
}
