package dispatcher

import (
	"context"
	"time"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// RequestChannel is where tasker_task_requests' trigger announces a
// committed (or retried) task request.
const RequestChannel = "tasker_task_requests"

const (
	// intakeBatch caps the requests one take-up transaction turns into tasks.
	intakeBatch = 100
	// intakeTimeout bounds one take-up round, so a connection that hangs
	// cannot stop the intake for good (the round rolls back and is retried).
	intakeTimeout = 2 * time.Minute
	// pruneEvery is how often a dispatcher deletes requests past
	// engine.TaskRequestRetention.
	pruneEvery = time.Minute
)

// intake turns the task requests applications wrote in their own
// transactions into tasks, when woken by RequestChannel and on every poll.
// Every dispatcher runs it, for every namespace: creating a task runs no
// handler, and the take-up's SKIP LOCKED lets them share the table. A
// quiet dispatcher takes nothing up.
func (d *Dispatcher) intake(ctx context.Context) {
	poll := time.NewTicker(d.cfg.FetchPollInterval)
	defer poll.Stop()
	lastPrune := time.Now()
	retry := time.Duration(0)
	d.wakeIntakeNow() // requests committed while no dispatcher ran are taken up at once
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wakeIntake:
		case <-poll.C:
		}
		for ctx.Err() == nil && !d.isQuiet() {
			rctx, cancel := context.WithTimeout(ctx, intakeTimeout)
			res, err := d.eng.TakeUpTaskRequests(rctx, intakeBatch)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				retry = d.backOff(ctx, retry, "task request take-up", err)
				continue
			}
			retry = 0
			if res.Count(tt.TaskRequestCreated) > 0 {
				d.wake() // their steps are ready; the notification may come later
			}
			if len(res.Requests) < intakeBatch {
				break
			}
		}
		if time.Since(lastPrune) >= pruneEvery {
			lastPrune = time.Now()
			rctx, cancel := context.WithTimeout(ctx, intakeTimeout)
			_, err := d.eng.PruneTaskRequests(rctx, engine.TaskRequestRetention, 1000)
			cancel()
			if err != nil && ctx.Err() == nil {
				d.cfg.Logger.Warn("tasker dispatcher: pruning task requests failed", "worker_id", d.cfg.WorkerID, "error", err)
			}
		}
	}
}

// wakeIntakeNow wakes the take-up; wakes that arrive while it runs fold into
// one more round.
func (d *Dispatcher) wakeIntakeNow() {
	select {
	case d.wakeIntake <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) isQuiet() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.quiet
}
