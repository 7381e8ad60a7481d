package main

// #include <stdint.h>
import "C"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/goccy/go-json"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// dispatcherConfig is tasker_dispatcher_start's JSON: dispatcher.Config in
// milliseconds. Zero means the dispatcher's default.
type dispatcherConfig struct {
	WorkerID             string           `json:"worker_id"`
	Namespaces           []string         `json:"namespaces"`
	Templates            []tt.TemplateKey `json:"templates"`
	LeaseMS              int64            `json:"lease_ms"`
	DefaultStepTimeoutMS int64            `json:"default_step_timeout_ms"`
	FetchCooldownMS      int64            `json:"fetch_cooldown_ms"`
	FetchPollIntervalMS  int64            `json:"fetch_poll_interval_ms"`
	MaxBatch             int              `json:"max_batch"`
	RescueIntervalMS     int64            `json:"rescue_interval_ms"`
	StuckIntervalMS      int64            `json:"stuck_interval_ms"`
}

func decodeDispatcherConfig(b []byte) (*dispatcherConfig, error) {
	return decodeStrict[dispatcherConfig]("dispatcher_start", b, maxParamDepth)
}

// config checks the millisecond fields (each within 0..24h, so none
// overflows a Duration) and builds the dispatcher's Config; the dispatcher
// checks the rest (New).
func (c *dispatcherConfig) config(s *engineState) (dispatcher.Config, error) {
	v := &tt.ValidationError{Op: "dispatcher_start"}
	ms := func(name string, n int64) time.Duration {
		if n < 0 || n > maxTimeout.Milliseconds() {
			v.Problems = append(v.Problems, tt.FieldError{Field: name,
				Problem: fmt.Sprintf("must be within 0..%d (0 means the default), got %d", maxTimeout.Milliseconds(), n)})
		}
		return time.Duration(n) * time.Millisecond
	}
	cfg := dispatcher.Config{
		WorkerID:           c.WorkerID,
		Namespaces:         c.Namespaces,
		Templates:          c.Templates,
		Lease:              ms("lease_ms", c.LeaseMS),
		DefaultStepTimeout: ms("default_step_timeout_ms", c.DefaultStepTimeoutMS),
		FetchCooldown:      ms("fetch_cooldown_ms", c.FetchCooldownMS),
		FetchPollInterval:  ms("fetch_poll_interval_ms", c.FetchPollIntervalMS),
		MaxBatch:           c.MaxBatch,
		RescueInterval:     ms("rescue_interval_ms", c.RescueIntervalMS),
		StuckInterval:      ms("stuck_interval_ms", c.StuckIntervalMS),
		Logger:             s.logger,
	}
	if len(v.Problems) > 0 {
		return cfg, v
	}
	return cfg, nil
}

// Dispatcher is what a dispatcher handle holds: a started dispatcher of one
// engine state. Its JSON is its Stats.
type Dispatcher struct {
	d              *dispatcher.Dispatcher
	owner          *engineState
	defaultTimeout time.Duration

	mu      sync.Mutex
	stopped chan struct{} // nil until the first stop begins; closed when it returns
}

// startDispatcher builds and starts a dispatcher on s's engine and
// registers it with s, so tasker_shutdown stops it before closing the pool.
func (s *engineState) startDispatcher(ctx context.Context, c *dispatcherConfig) (*Dispatcher, error) {
	cfg, err := c.config(s)
	if err != nil {
		return nil, err
	}
	d, err := dispatcher.New(s.engine, cfg)
	if err != nil {
		return nil, err
	}
	if err := d.Start(ctx); err != nil {
		return nil, err
	}
	h := &Dispatcher{d: d, owner: s, defaultTimeout: s.defaultTimeout}
	s.dispatchersMu.Lock()
	s.dispatchers[h] = struct{}{}
	s.dispatchersMu.Unlock()
	return h, nil
}

// stop stops the dispatcher once. A second caller waits for the first stop
// to finish (or for its own ctx) and returns nil.
func (h *Dispatcher) stop(ctx context.Context) error {
	h.mu.Lock()
	if h.stopped != nil {
		done := h.stopped
		h.mu.Unlock()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return &tt.TimeoutError{Op: "dispatcher_stop", Err: ctx.Err()}
		}
	}
	h.stopped = make(chan struct{})
	h.mu.Unlock()
	defer close(h.stopped)
	defer h.owner.forget(h)
	return h.d.Stop(ctx)
}

// freeStopTimeout bounds the background stop of a dispatcher whose handle
// is freed while it runs: nobody can report through a freed handle, so its
// running steps are released after this.
const freeStopTimeout = 5 * time.Second

// onFree runs when the handle is freed: a dispatcher still running is
// stopped in the background (tasker_handle_free never blocks).
func (h *Dispatcher) onFree() {
	h.mu.Lock()
	running := h.stopped == nil
	h.mu.Unlock()
	if !running {
		return
	}
	go func() {
		defer func() { _ = recover() }() // a panic here must not kill the host
		ctx, cancel := context.WithTimeout(context.Background(), freeStopTimeout)
		defer cancel()
		_ = h.stop(ctx)
	}()
}

// DispatcherStats is what tasker_dispatcher_stats hands out: a snapshot of
// dispatcher.Stats (kind "DispatcherStats"; "Stats" is tasker_stats').
type DispatcherStats dispatcher.Stats

func (s *DispatcherStats) int64Fields() map[string]int64 {
	return map[string]int64{"waiting": int64(s.Waiting), "running": int64(s.Running), "queued_reports": int64(s.QueuedReports),
		"claimed": s.Claimed, "completed": s.Completed, "failed": s.Failed, "timed_out": s.TimedOut, "stale": s.Stale,
		"released": s.Released, "quiet": b2i(s.Quiet)}
}

// stats returns a snapshot of the dispatcher's counters.
func (h *Dispatcher) stats() *DispatcherStats {
	st := DispatcherStats(h.d.Stats())
	return &st
}

// MarshalJSON makes a dispatcher handle read as its stats in
// tasker_handle_json (and int64Fields in tasker_handle_int64).
func (h *Dispatcher) MarshalJSON() ([]byte, error) { return json.Marshal(h.stats()) }

func (h *Dispatcher) int64Fields() map[string]int64 { return h.stats().int64Fields() }

// dispatcherOf returns the dispatcher behind h; a live handle of another
// kind is an abiError.
func dispatcherOf(h uint64) (*Dispatcher, error) {
	v, err := handles.get(h)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*Dispatcher)
	if !ok {
		return nil, newABIError(map[string]any{"handle": h, "kind": kindName(v), "expected": "Dispatcher"},
			"handle %d is a %s, not a Dispatcher (from tasker_dispatcher_start)", h, kindName(v))
	}
	return d, nil
}

// forget drops a stopped dispatcher from s's registry.
func (s *engineState) forget(h *Dispatcher) {
	s.dispatchersMu.Lock()
	delete(s.dispatchers, h)
	s.dispatchersMu.Unlock()
}

// stopDispatchers stops every dispatcher still running on s, at once and
// all within ctx (tasker_shutdown, before the pool closes).
func (s *engineState) stopDispatchers(ctx context.Context) {
	s.dispatchersMu.Lock()
	running := make([]*Dispatcher, 0, len(s.dispatchers))
	for h := range s.dispatchers {
		running = append(running, h)
	}
	s.dispatchersMu.Unlock()
	var wg sync.WaitGroup
	for _, h := range running {
		wg.Go(func() {
			defer func() { _ = recover() }() // a panic here must not kill the host
			_ = h.stop(ctx)
		})
	}
	wg.Wait()
}

// doneCtx is an already-cancelled context: Next with it takes only a step
// ready at once.
var doneCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// takeReady hands out the step ready for an executor at once (typically the
// one the flush that recorded its report claimed for it), without waiting:
// its JSON and nextStateStep, or nil and nextStateNone (none ready) or
// nextStateShutdown (the dispatcher is quiet or stopped).
func (h *Dispatcher) takeReady() ([]byte, C.int64_t, error) {
	s, err := h.d.Next(doneCtx)
	switch {
	case errors.Is(err, dispatcher.ErrStopped):
		return nil, nextStateShutdown, nil
	case err != nil && !errors.Is(err, context.Canceled):
		return nil, nextStateNone, err
	case s == nil:
		return nil, nextStateNone, nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, nextStateNone, fmt.Errorf("encoding the claimed step %d: %w", s.WorkflowStepID, err)
	}
	return b, nextStateStep, nil
}

// outcomeOf is a StepResult as tasker_dispatcher_complete_next's int64
// slots (TASKER_OUTCOME_*; the step's name is the caller's own).
func outcomeOf(r *tt.StepResult) ([outcomeLen]C.int64_t, error) {
	var o [outcomeLen]C.int64_t
	status, ok := stepStateCodes[r.Status]
	task, okTask := taskStateCodes[r.TaskStatus]
	if !ok || !okTask {
		return o, fmt.Errorf("step %d: no outcome code for step status %q or task status %q", r.WorkflowStepID, r.Status, r.TaskStatus)
	}
	o[outcomeWorkflowStepID] = C.int64_t(r.WorkflowStepID)
	o[outcomeTaskID] = C.int64_t(r.TaskID)
	o[outcomeStatus] = C.int64_t(status)
	o[outcomeAttempts] = C.int64_t(r.Attempts)
	if r.NextRetryAt != nil {
		o[outcomeNextRetryAtMS] = C.int64_t(r.NextRetryAt.UnixMilli())
	}
	o[outcomeTaskStatus] = C.int64_t(task)
	return o, nil
}
