package dispatcher

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// origin says who made a report: an executor (it will ask for its next step
// right after, so the flush may hand it a child) or the dispatcher itself
// (timeouts, releases).
type origin int

const (
	originExecutor origin = iota
	originDispatcher
)

// flushLanes is how many flushes may run at once.
const flushLanes = 2

type outcome struct {
	res *tt.StepResult
	err error
}

type pending struct {
	report    engine.Report
	origin    origin
	submitted time.Time
	done      chan outcome // buffered 1
}

// completer records every executor's reports, many per transaction, in
// flushLanes lanes: a lane starts a flush as soon as it has reports, so
// reports that arrive while flushes run share the next (group commit), and
// two flushes keep both of PostgreSQL's cores busy where one serializes all
// reports on one backend. Each lane locks tasks in id order, so lanes never
// deadlock each other.
type completer struct {
	d *Dispatcher

	mu       sync.Mutex
	queue    []*pending
	inflight map[int64]bool // steps of the batches being flushed
	idle     *sync.Cond     // signalled when the queue is empty and no flush runs
	wake     chan struct{}
}

func newCompleter(d *Dispatcher) *completer {
	c := &completer{d: d, wake: make(chan struct{}, 1), inflight: map[int64]bool{}}
	c.idle = sync.NewCond(&c.mu)
	return c
}

// submit queues a validated report; its outcome arrives on the returned
// channel once recorded (or refused).
func (c *completer) submit(r *engine.Report, o origin) chan outcome {
	p := &pending{report: *r, origin: o, submitted: time.Now(), done: make(chan outcome, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, p)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return p.done
}

// drain empties the queue (the completer has stopped).
func (c *completer) drain() []*pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q
}

func (c *completer) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// waitIdle blocks until every queued report is recorded or ctx ends.
func (c *completer) waitIdle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.idle.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) > 0 || len(c.inflight) > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.idle.Wait()
	}
	return nil
}

func (c *completer) run(ctx context.Context) {
	retry := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		for ctx.Err() == nil {
			batch := c.take()
			if len(batch) == 0 {
				break
			}
			rest, err := c.flush(ctx, batch)
			c.finish(batch, rest)
			if err != nil {
				if ctx.Err() != nil {
					return // stopping: Stop records what is left
				}
				retry = min(max(retry*2, 10*time.Millisecond), time.Second)
				c.d.count(func(s *Stats) { s.FlushRetries++ })
				c.d.cfg.Logger.Warn("tasker dispatcher: recording reports failed; retrying", "worker_id", c.d.cfg.WorkerID,
					"reports", len(batch), "retry_in", retry, "error", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(retry):
				}
				continue
			}
			retry = 0
		}
	}
}

// take removes up to MaxBatch reports from the queue, at most one per step
// and none for a step another lane is flushing (a later report on the same
// step waits for the next flush, where it is stale).
func (c *completer) take() []*pending {
	c.mu.Lock()
	defer c.mu.Unlock()
	var batch []*pending
	rest := c.queue[:0]
	for _, p := range c.queue {
		if len(batch) < c.d.cfg.MaxBatch && !c.inflight[p.report.StepID] {
			c.inflight[p.report.StepID] = true
			batch = append(batch, p)
		} else {
			rest = append(rest, p)
		}
	}
	c.queue = rest
	return batch
}

// finish ends a lane's flush of batch, putting back the reports not
// delivered (to be retried).
func (c *completer) finish(batch, undelivered []*pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range batch {
		delete(c.inflight, p.report.StepID)
	}
	c.queue = append(undelivered, c.queue...)
	if len(c.queue) == 0 && len(c.inflight) == 0 {
		c.idle.Broadcast()
	}
}

// flush records a batch. A transient database error is returned with the
// reports not yet recorded, to be retried; any other error is split down to
// the report that caused it, which alone gets it. Every report is delivered
// exactly once.
func (c *completer) flush(ctx context.Context, batch []*pending) (undelivered []*pending, err error) {
	reports := make([]engine.Report, len(batch))
	executors := 0
	for i, p := range batch {
		reports[i] = p.report
		if p.origin == originExecutor {
			executors++
		}
	}
	handoff := &engine.HandoffParams{WorkerID: c.d.cfg.WorkerID, Namespaces: c.d.cfg.Namespaces, NamedTaskIDs: c.d.namedTaskIDs,
		Limit: c.d.handoffLimit(executors), Lease: c.d.cfg.Lease}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	res, err := c.d.eng.ReportBatch(fctx, reports, handoff)
	cancel()
	c.d.count(func(s *Stats) { s.Flushes++ })
	if err != nil {
		if transient(err) {
			return batch, err
		}
		if len(batch) == 1 {
			c.deliver(batch, &engine.ReportBatchResult{Outcomes: []engine.ReportOutcome{{Err: err}}})
			return nil, nil
		}
		for i, p := range batch {
			if _, err := c.flush(ctx, []*pending{p}); err != nil {
				return batch[i:], err // transient after all: the caller retries what is left
			}
		}
		return nil, nil
	}
	// The claimed steps first: a reporter woken by its outcome asks for its
	// next step at once (complete_next without waiting) and must find it.
	c.d.give(res.Handoff, time.Now())
	c.d.count(func(s *Stats) { s.HandedOff += int64(len(res.Handoff)) })
	c.deliver(batch, res)
	return nil, nil
}

func (c *completer) deliver(batch []*pending, res *engine.ReportBatchResult) {
	d := c.d
	now := time.Now()
	d.mu.Lock()
	for i, p := range batch {
		o := res.Outcomes[i]
		if p.origin == originExecutor {
			d.latency.report.observe(now.Sub(p.submitted))
		}
		if j := d.running[p.report.StepID]; j != nil && j.token == p.report.ClaimToken {
			delete(d.running, p.report.StepID)
		}
		var stale *tt.StaleClaimError
		switch {
		case errors.As(o.Err, &stale):
			d.stats.Stale++
		case o.Err != nil:
		case p.report.Kind == engine.ReportComplete:
			d.stats.Completed++
		case p.report.Kind == engine.ReportFail && p.origin == originDispatcher:
			d.stats.TimedOut++
		case p.report.Kind == engine.ReportFail:
			d.stats.Failed++
		case p.report.Kind == engine.ReportRelease:
			d.stats.Released++
		}
		p.done <- outcome{res: o.Result, err: o.Err}
	}
	d.mu.Unlock()
}

// transient reports whether an error may pass if the same statements are
// sent again: a lost connection, a server restarting, a timeout, a deadlock.
func transient(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "53", "57", "58", "40":
			return true
		}
		return false
	}
	switch tt.CodeOf(err) {
	case tt.CodeDatabase, tt.CodeTimeout, tt.CodeInternal:
		return true
	}
	return false
}
