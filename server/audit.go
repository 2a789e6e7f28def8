package server

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// auditor writes audit events in batches, so that logging every
// verification costs one insert per batch instead of one transaction per
// request. Events that must be committed with a change (enrollments,
// confirmations and accepted codes: their record is durable before the
// answer leaves) go through the store in the change's transaction; the
// rest (refusals, failures, lockouts) are flushed within flushEvery and on
// close, so a crash can lose the last flushEvery of those.
type auditor struct {
	store Store
	log   *slog.Logger
	kick  chan struct{} // a full batch waits
	done  chan struct{} // closed when loop has written everything

	mu      sync.Mutex
	room    *sync.Cond // signalled when loop takes the queue
	pending []Event
	closed  bool
}

const (
	auditQueue = 8192
	flushEvery = 50 * time.Millisecond
)

func newAuditor(st Store, log *slog.Logger) *auditor {
	a := &auditor{store: st, log: log, kick: make(chan struct{}, 1), done: make(chan struct{})}
	a.room = sync.NewCond(&a.mu)
	go a.loop()
	return a
}

// add queues ev; it blocks when the queue is full, which slows requests
// down rather than dropping events. It wakes the writer only for a full
// batch: a goroutine switch per event would cost a request more than
// queueing it.
func (a *auditor) add(ev Event) {
	a.mu.Lock()
	for len(a.pending) >= auditQueue && !a.closed {
		a.room.Wait()
	}
	if a.closed {
		a.mu.Unlock()
		a.write([]Event{ev})
		return
	}
	a.pending = append(a.pending, ev)
	full := len(a.pending) == maxAuditBatch
	a.mu.Unlock()
	if full {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

// take empties the queue and returns what it held.
func (a *auditor) take(spare []Event) (evs []Event, closed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	evs, a.pending = a.pending, spare[:0]
	a.room.Broadcast()
	return evs, a.closed
}

func (a *auditor) loop() {
	defer close(a.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	var spare []Event
	for {
		select {
		case <-a.kick:
		case <-t.C:
		}
		evs, closed := a.take(spare)
		for rest := evs; len(rest) > 0; {
			n := min(len(rest), maxAuditBatch)
			a.write(rest[:n])
			rest = rest[n:]
		}
		spare = evs[:0]
		if closed {
			return
		}
	}
}

func (a *auditor) write(batch []Event) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.store.Audit(ctx, batch...); err != nil {
		a.log.Error("audit write failed", "events", len(batch), "err", err)
	}
}

// close flushes queued events and stops the writer; events added
// afterwards are written at once.
func (a *auditor) close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	select {
	case a.kick <- struct{}{}:
	default:
	}
	<-a.done
	return nil
}
