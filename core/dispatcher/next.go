package dispatcher

import (
	"context"
	"time"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Next blocks until a step is handed to the caller, ctx is done (nil, nil) or
// the dispatcher is quiet (ErrStopped). The returned step's attempt has
// started: run its handler and report it with Complete or Fail.
func (d *Dispatcher) Next(ctx context.Context) (*tt.ClaimedStep, error) {
	d.mu.Lock()
	if d.quiet || !d.started {
		d.mu.Unlock()
		return nil, ErrStopped
	}
	if len(d.spare) > 0 {
		s, at := d.spare[0].step, d.spare[0].at
		d.spare = d.spare[1:]
		d.startLocked(s, at)
		d.mu.Unlock()
		return s, nil
	}
	w := &waiter{ch: make(chan *tt.ClaimedStep, 1)}
	d.waiters = append(d.waiters, w)
	wake := d.maybeMore
	d.mu.Unlock()
	if wake {
		d.poke()
	}

	select {
	case s := <-w.ch:
		if s == nil {
			return nil, ErrStopped
		}
		return s, nil
	case <-ctx.Done():
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.removeWaiterLocked(w)
	select {
	case s := <-w.ch: // handed over just as ctx ended: it is ours to run
		if s == nil {
			return nil, ErrStopped
		}
		return s, nil
	default:
		return nil, nil
	}
}

// poke wakes the producer without blocking.
func (d *Dispatcher) poke() {
	select {
	case d.wakeProducer <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) removeWaiterLocked(w *waiter) {
	for i, x := range d.waiters {
		if x == w {
			d.waiters = append(d.waiters[:i], d.waiters[i+1:]...)
			return
		}
	}
}

// free is how many more steps executors can take right now.
func (d *Dispatcher) free() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.quiet {
		return 0
	}
	return max(len(d.waiters)-len(d.spare), 0)
}

// handoffLimit is how many steps a flush may claim for this worker: one for
// each executor waiting now and each whose report it records (it asks again
// right after), none once quiet.
func (d *Dispatcher) handoffLimit(reporters int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.quiet {
		return 0
	}
	return min(max(len(d.waiters)-len(d.spare), 0)+reporters, d.cfg.MaxBatch)
}

// give hands steps claimed at claimedAt to waiting executors; a step nobody
// waits for any more is kept as spare for the next Next, or released when
// quiet.
func (d *Dispatcher) give(steps []tt.ClaimedStep, claimedAt time.Time) {
	var release []*tt.ClaimedStep
	d.mu.Lock()
	for i := range steps {
		s := &steps[i]
		switch {
		case d.quiet:
			release = append(release, s)
		case len(d.waiters) > 0:
			w := d.waiters[0]
			d.waiters = d.waiters[1:]
			d.startLocked(s, claimedAt)
			w.ch <- s
		default:
			d.spare = append(d.spare, spareStep{step: s, at: claimedAt})
		}
	}
	d.mu.Unlock()
	d.releaseSteps(release, "worker "+d.cfg.WorkerID+" is quiet")
}

// startLocked records a handed-out step as running, with its deadline, and
// how long it waited since its claim.
func (d *Dispatcher) startLocked(s *tt.ClaimedStep, claimedAt time.Time) {
	d.latency.handoff.observe(time.Since(claimedAt))
	timeout := time.Duration(s.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = d.cfg.DefaultStepTimeout
		s.TimeoutSeconds = int(timeout / time.Second)
	}
	d.running[s.WorkflowStepID] = &job{stepID: s.WorkflowStepID, token: s.ClaimToken, timeout: timeout,
		deadline: time.Now().Add(timeout)}
}

// takeStaleSpares removes spare steps older than age (nobody came for them).
func (d *Dispatcher) takeStaleSpares(age time.Duration) []*tt.ClaimedStep {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*tt.ClaimedStep
	keep := d.spare[:0]
	for _, sp := range d.spare {
		if d.quiet || time.Since(sp.at) > age {
			out = append(out, sp.step)
		} else {
			keep = append(keep, sp)
		}
	}
	d.spare = keep
	return out
}

// releaseSteps gives back claimed steps nobody ran, through the completer
// (without waiting: the completer itself hands steps out): pending again at
// once, attempts given back.
func (d *Dispatcher) releaseSteps(steps []*tt.ClaimedStep, reason string) {
	for _, s := range steps {
		d.comp.submit(&engine.Report{Kind: engine.ReportRelease, StepID: s.WorkflowStepID,
			ClaimToken: s.ClaimToken, Reason: reason}, originDispatcher)
	}
}
