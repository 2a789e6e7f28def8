package server

import "sync"

// userCache keeps what VerifiedCredentials returned for each user, for a
// store that is the only writer of its database (SQLite: one server
// process holds the file, see lockFile). Every write for a user
// invalidates the user's entry, and a read that raced with a write does
// not store its result. The cache only saves reads: a code is accepted
// only by the compare-and-set in SQL, so even a stale entry could never
// let a code through twice.
type userCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	seq     uint64            // counts invalidations
	last    map[string]uint64 // seq of each user's last invalidation
	floor   uint64            // seq when last was cleared
}

type cacheEntry struct {
	creds []Credential
	state UserState
}

// maxCacheUsers bounds the cache; past it, the cache starts over.
const maxCacheUsers = 100_000

func newUserCache() *userCache {
	return &userCache{entries: map[string]cacheEntry{}, last: map[string]uint64{}}
}

// get returns the cached entry of user, or a token to pass to put after
// reading the database.
func (c *userCache) get(user string) (e cacheEntry, ok bool, token uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok = c.entries[user]
	return e, ok, c.seq
}

// put stores e for user unless user was invalidated after token.
func (c *userCache) put(user string, token uint64, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last[user] > token || c.floor > token {
		return
	}
	if len(c.entries) >= maxCacheUsers {
		clear(c.entries)
	}
	c.entries[user] = e
}

// invalidate drops user's entry; call it after every write for user.
func (c *userCache) invalidate(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	delete(c.entries, user)
	if len(c.last) >= maxCacheUsers {
		clear(c.last)
		clear(c.entries)
		c.floor = c.seq
	}
	c.last[user] = c.seq
}

// setState sets user's cached state, if user has an entry, after a
// committed write that changed nothing else of the user (a failure
// counted, a lock); a read under way does not overwrite it.
func (c *userCache) setState(user string, st UserState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	if len(c.last) >= maxCacheUsers {
		clear(c.last)
		clear(c.entries)
		c.floor = c.seq
	}
	c.last[user] = c.seq
	if e, ok := c.entries[user]; ok {
		e.state = st
		c.entries[user] = e
	}
}

// reset drops everything, and refuses results of reads already under way.
func (c *userCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	clear(c.entries)
	clear(c.last)
	c.floor = c.seq
}
