package dispatcher

import (
	"context"
	"time"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// maintain rescues the expired leases of crashed workers every
// RescueInterval and, every StuckInterval, records the work that is stuck
// anyway (engine.RecordStuckWork). Every dispatcher runs it; a transaction
// advisory lock lets one process do a round at a time.
// roundTimeout is the least time a maintenance round may take.
const roundTimeout = 10 * time.Second

func (d *Dispatcher) maintain(ctx context.Context) {
	t := time.NewTicker(d.cfg.RescueInterval)
	defer t.Stop()
	var lastStuck time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A short interval (tests, eager rescue) must not make a busy
		// database's round fail: it gets at least roundTimeout.
		rctx, cancel := context.WithTimeout(ctx, max(d.cfg.RescueInterval*4, roundTimeout))
		n, _, err := d.eng.RescueExpiredLeases(rctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			d.cfg.Logger.Warn("tasker dispatcher: lease rescue failed", "worker_id", d.cfg.WorkerID, "error", err)
		}
		if n > 0 {
			d.count(func(s *Stats) { s.Rescued += int64(n) })
			d.wake() // rescued steps are ready again
		}
		if time.Since(lastStuck) >= d.cfg.StuckInterval {
			lastStuck = time.Now()
			d.recordStuck(ctx)
		}
	}
}

// recordStuck runs one stuck-work detection. A step's own worker fails it
// within a tick of its timeout and loses its lease within Lease, so a step
// counts as past its timeout only a lease later.
func (d *Dispatcher) recordStuck(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, max(d.cfg.StuckInterval, d.cfg.RescueInterval*4, roundTimeout))
	defer cancel()
	_, _, err := d.eng.RecordStuckWork(sctx, &tt.StuckParams{
		DefaultStepTimeoutMS: d.cfg.DefaultStepTimeout.Milliseconds(),
		GraceMS:              d.cfg.Lease.Milliseconds(),
		Limit:                tt.MaxStuckLimit,
	})
	if err != nil && ctx.Err() == nil {
		d.cfg.Logger.Warn("tasker dispatcher: stuck-work detection failed", "worker_id", d.cfg.WorkerID, "error", err)
	}
}
