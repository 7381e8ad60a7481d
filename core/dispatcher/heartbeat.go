package dispatcher

import (
	"context"
	"fmt"
	"time"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// TimeoutErrorClass is the error class a timed-out attempt is failed with.
const TimeoutErrorClass = "TaskerCore::StepTimeoutError"

// heartbeat extends the leases of running steps every Lease/3, in one
// statement, and fails the attempts that passed their timeout (checked every
// tick of at most 100ms).
func (d *Dispatcher) heartbeat(ctx context.Context) {
	every := d.cfg.Lease / 3
	tick := min(every, 100*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.failTimedOut()
		if time.Since(last) < every {
			continue
		}
		last = time.Now()
		ids, tokens := d.leases()
		if len(ids) == 0 {
			continue
		}
		hctx, cancel := context.WithTimeout(ctx, every)
		_, err := d.eng.HeartbeatMany(hctx, ids, tokens, d.cfg.Lease)
		cancel()
		if err != nil {
			d.cfg.Logger.Warn("tasker dispatcher: heartbeat failed; retrying next tick", "worker_id", d.cfg.WorkerID,
				"steps", len(ids), "error", err)
		}
	}
}

// leases lists the running steps whose leases to extend: all of them, except
// those that timed out (their failure is on its way).
func (d *Dispatcher) leases() (ids []int64, tokens []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, j := range d.running {
		ids = append(ids, j.stepID)
		tokens = append(tokens, j.token)
	}
	return ids, tokens
}

// failTimedOut fails, as retryable, every attempt past its deadline whose
// executor has not reported. The failure changes the claim token, so the
// executor's late report is a stale claim.
func (d *Dispatcher) failTimedOut() {
	now := time.Now()
	var late []*job
	d.mu.Lock()
	for id, j := range d.running {
		if !j.reported && now.After(j.deadline) {
			late = append(late, j)
			delete(d.running, id) // stop extending its lease
		}
	}
	d.mu.Unlock()
	for _, j := range late {
		d.cfg.Logger.Warn("tasker dispatcher: step passed its timeout; failing the attempt", "worker_id", d.cfg.WorkerID,
			"step_id", j.stepID, "timeout", j.timeout)
		d.comp.submit(&engine.Report{Kind: engine.ReportFail, StepID: j.stepID, ClaimToken: j.token,
			Failure: &tt.FailParams{StepID: j.stepID, ClaimToken: j.token, Error: tt.StepFailure{
				Class:   TimeoutErrorClass,
				Message: fmt.Sprintf("step did not finish within its timeout of %s (timeout_seconds)", j.timeout),
			}}}, originDispatcher)
	}
}
