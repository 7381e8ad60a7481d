package dispatcher

import (
	"context"
	"fmt"
	"time"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Quiet stops claiming: executors waiting in Next (and every later Next) get
// ErrStopped, and steps claimed but not handed out are released with their
// attempt given back. Running steps go on and report normally.
func (d *Dispatcher) Quiet() {
	d.mu.Lock()
	if d.quiet {
		d.mu.Unlock()
		return
	}
	d.quiet = true
	for _, w := range d.waiters {
		w.ch <- nil
	}
	d.waiters = nil
	spare := make([]*tt.ClaimedStep, 0, len(d.spare))
	for _, sp := range d.spare {
		spare = append(spare, sp.step)
	}
	d.spare = nil
	started := d.started
	d.mu.Unlock()
	if started {
		d.releaseSteps(spare, "worker "+d.cfg.WorkerID+" is quiet")
	}
}

// Stop quiets the dispatcher, waits until ctx for running steps to report
// and their reports to be recorded, then releases the steps still running
// (their attempt given back: the worker stopped, the handler did not fail)
// and stops every goroutine. It returns an error naming the steps it had to
// release.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.Quiet()
	d.mu.Lock()
	started := d.started
	d.mu.Unlock()
	if !started {
		return nil
	}
	for d.runningCount() > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
	var left []int64
	d.mu.Lock()
	for id, j := range d.running {
		left = append(left, id)
		d.comp.submit(&engine.Report{Kind: engine.ReportRelease, StepID: id, ClaimToken: j.token,
			Reason: "worker " + d.cfg.WorkerID + " stopped before the step finished"}, originDispatcher)
	}
	d.mu.Unlock()
	// Releases and reports still queued get a few seconds more than ctx.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	idleErr := d.comp.waitIdle(wctx)
	cancel()
	d.cancel()
	d.workers.Wait()
	d.mu.Lock()
	d.stopped = true
	last := d.comp.drain() // submitted after the completer's last flush
	d.mu.Unlock()
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer dcancel()
	for _, p := range last {
		res, err := d.eng.ReportBatch(dctx, []engine.Report{p.report}, nil)
		if err == nil {
			p.done <- outcome{res: res.Outcomes[0].Result, err: res.Outcomes[0].Err}
		} else {
			p.done <- outcome{err: err}
		}
	}
	switch {
	case len(left) > 0:
		return &ReleasedStepsError{StepIDs: left}
	case idleErr != nil:
		return &tt.TimeoutError{Op: "dispatcher_stop",
			Err: fmt.Errorf("%d reports not recorded: %w", d.comp.queued(), idleErr)}
	}
	return nil
}

// ReleasedStepsError is Stop's answer when its deadline passed with steps
// still running: it gave them back (pending again, attempt not counted). Its
// ABI code is timeout.
type ReleasedStepsError struct {
	StepIDs []int64
}

func (e *ReleasedStepsError) Error() string {
	return fmt.Sprintf("dispatcher stopped with %d steps still running; released them: %v", len(e.StepIDs), e.StepIDs)
}
func (e *ReleasedStepsError) Code() tt.Code { return tt.CodeTimeout }
func (e *ReleasedStepsError) Details() map[string]any {
	return map[string]any{"op": "dispatcher_stop", "released_step_ids": e.StepIDs}
}

func (d *Dispatcher) runningCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.running)
}
