package dispatcher

import (
	"context"
	"time"
)

// maintain rescues the expired leases of crashed workers every
// RescueInterval. Every dispatcher runs it; a transaction advisory lock lets
// one process do a round at a time (engine.RescueExpiredLeases).
func (d *Dispatcher) maintain(ctx context.Context) {
	t := time.NewTicker(d.cfg.RescueInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, d.cfg.RescueInterval*4)
		n, _, err := d.eng.RescueExpiredLeases(rctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			d.cfg.Logger.Warn("tasker dispatcher: lease rescue failed", "worker_id", d.cfg.WorkerID, "error", err)
		}
		if n > 0 {
			d.count(func(s *Stats) { s.Rescued += int64(n) })
			d.wake() // rescued steps are ready again
		}
	}
}
