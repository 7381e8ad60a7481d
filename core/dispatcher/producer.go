package dispatcher

import (
	"context"
	"time"

	"github.com/tasker-systems/tasker-core-go/core/engine"
)

// spareAge is how long a step claimed for an executor that then stopped
// waiting is kept for the next one before it is given back.
const spareAge = 2 * time.Second

// produce claims steps for waiting executors when woken (an executor began
// waiting, a notification, a full claim) or on every poll.
func (d *Dispatcher) produce(ctx context.Context) {
	poll := time.NewTicker(d.cfg.FetchPollInterval)
	defer poll.Stop()
	var last time.Time
	retry := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wakeProducer:
		case <-poll.C:
			d.mu.Lock()
			d.maybeMore = true
			d.mu.Unlock()
		}
		// Spare steps are not heartbeated: give them back well within their lease.
		d.releaseSteps(d.takeStaleSpares(min(spareAge, d.cfg.Lease/2)), "no executor of worker "+d.cfg.WorkerID+" took it")
		for ctx.Err() == nil {
			n := min(d.free(), d.cfg.MaxBatch)
			d.mu.Lock()
			more, gen := d.maybeMore, d.notified
			d.mu.Unlock()
			if n == 0 || !more {
				break
			}
			if wait := d.cfg.FetchCooldown - time.Since(last); wait > 0 {
				time.Sleep(wait)
			}
			last = time.Now()
			claimStart := last
			steps, err := d.eng.DispatchClaim(ctx, &engine.DispatchClaimParams{
				Namespaces: d.cfg.Namespaces, NamedTaskIDs: d.namedTaskIDs, Limit: n, WorkerID: d.cfg.WorkerID, Lease: d.cfg.Lease,
			})
			if err != nil && ctx.Err() != nil {
				return // stopping: the claim was cancelled, nothing failed
			}
			if err != nil {
				retry = d.backOff(ctx, retry, "claim", err)
				continue
			}
			retry = 0
			d.mu.Lock()
			d.stats.Claims++
			d.stats.Claimed += int64(len(steps))
			d.latency.claim.observe(time.Since(claimStart))
			if len(steps) < n && d.notified == gen {
				d.maybeMore = false // nothing more until a notification or the next poll
			}
			d.mu.Unlock()
			d.give(steps, time.Now())
			if len(steps) < n {
				break
			}
		}
	}
}

// wake marks that a claim may find steps and wakes the producer.
func (d *Dispatcher) wake() {
	d.mu.Lock()
	d.maybeMore = true
	d.notified++
	d.mu.Unlock()
	d.poke()
}

// backOff logs a failed claim or take-up (what) and waits before the next
// try: twice the last wait (retry), from 10ms up to FetchPollInterval, or
// until ctx ends. It returns the wait, the next call's retry.
func (d *Dispatcher) backOff(ctx context.Context, retry time.Duration, what string, err error) time.Duration {
	retry = min(max(retry*2, 10*time.Millisecond), d.cfg.FetchPollInterval)
	d.cfg.Logger.Warn("tasker dispatcher: "+what+" failed; retrying", "worker_id", d.cfg.WorkerID,
		"retry_in", retry, "error", err)
	select {
	case <-ctx.Done():
	case <-time.After(retry):
	}
	return retry
}
