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
	ch    chan Event
	done  chan struct{} // closed when loop has written everything

	mu     sync.RWMutex // held for reading while sending on ch
	closed bool
}

const (
	auditQueue = 8192
	flushEvery = 50 * time.Millisecond
)

func newAuditor(st Store, log *slog.Logger) *auditor {
	a := &auditor{store: st, log: log, ch: make(chan Event, auditQueue), done: make(chan struct{})}
	go a.loop()
	return a
}

// add queues ev; it blocks when the queue is full, which slows requests
// down rather than dropping events.
func (a *auditor) add(ev Event) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		a.write([]Event{ev})
		return
	}
	a.ch <- ev
}

func (a *auditor) loop() {
	batch := make([]Event, 0, maxAuditBatch)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-a.ch:
			if !ok {
				a.write(batch)
				close(a.done)
				return
			}
			batch = append(batch, ev)
			if len(batch) == maxAuditBatch {
				a.write(batch)
				batch = batch[:0]
			}
		case <-t.C:
			a.write(batch)
			batch = batch[:0]
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

// close flushes queued events and stops the writer.
func (a *auditor) close() error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.ch)
	}
	a.mu.Unlock()
	<-a.done
	return nil
}
