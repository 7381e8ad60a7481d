package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// ErrStopped is returned by Next once the dispatcher is quiet or stopped: the
// executor should exit.
var ErrStopped = errors.New("dispatcher: quiet or stopped, no more steps")

// Stats is a snapshot of a dispatcher's counters.
type Stats struct {
	WorkerID string `json:"worker_id"`
	// Waiting executors are blocked in Next; Running steps were handed out
	// and not yet reported.
	Waiting int `json:"waiting"`
	Running int `json:"running"`
	// QueuedReports are reports waiting to be recorded (retried on database
	// errors).
	QueuedReports int   `json:"queued_reports"`
	Claims        int64 `json:"claims"`
	Claimed       int64 `json:"claimed"`
	HandedOff     int64 `json:"handed_off"`
	Completed     int64 `json:"completed"`
	Failed        int64 `json:"failed"`
	TimedOut      int64 `json:"timed_out"`
	Stale         int64 `json:"stale"`
	Released      int64 `json:"released"`
	Flushes       int64 `json:"flushes"`
	FlushRetries  int64 `json:"flush_retries"`
	Rescued       int64 `json:"rescued"`
	Quiet         bool  `json:"quiet"`
	// ClaimSeconds, HandoffSeconds and ReportSeconds are latency
	// histograms since start (see latencies).
	ClaimSeconds   Histogram `json:"claim_seconds"`
	HandoffSeconds Histogram `json:"handoff_seconds"`
	ReportSeconds  Histogram `json:"report_seconds"`
}

// Dispatcher hands one worker's steps to its executors. It is safe for
// concurrent use; see the package doc for what it runs.
type Dispatcher struct {
	cfg Config
	eng *engine.Engine
	// namedTaskIDs are cfg.Templates' named tasks, resolved at Start.
	namedTaskIDs []int64

	mu        sync.Mutex
	waiters   []*waiter
	spare     []spareStep // claimed, but no waiter was left to take it
	running   map[int64]*job
	quiet     bool
	started   bool
	stopped   bool  // the goroutines are gone
	maybeMore bool  // a claim may find steps: notified, polled, or the last claim was full
	notified  int64 // counts wakes, so a claim that raced a notification does not clear maybeMore
	stats     Stats
	latency   latencies

	wakeProducer chan struct{}
	wakeIntake   chan struct{} // task requests committed (intake.go)
	comp         *completer

	cancel  context.CancelFunc
	workers sync.WaitGroup
}

type waiter struct {
	ch chan *tt.ClaimedStep // buffered 1; a giver sends at most once, under mu
}

type spareStep struct {
	step *tt.ClaimedStep
	at   time.Time // when it was claimed
}

// job is a step handed to an executor and not yet reported.
type job struct {
	stepID   int64
	token    string
	deadline time.Time
	timeout  time.Duration
	// reported is set once the executor's report is queued: the heartbeat
	// keeps its lease while the report waits, but never times it out.
	reported bool
}

// New returns a dispatcher for one worker on eng. Start it before calling
// Next.
func New(eng *engine.Engine, cfg Config) (*Dispatcher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, tt.NewValidationError("dispatcher", "", "%s", err.Error())
	}
	if cfg.Logger == nil {
		cfg.Logger = eng.Logger()
	}
	d := &Dispatcher{
		cfg:          cfg,
		eng:          eng,
		running:      map[int64]*job{},
		wakeProducer: make(chan struct{}, 1),
		wakeIntake:   make(chan struct{}, 1),
		maybeMore:    true,
	}
	d.stats.WorkerID = cfg.WorkerID
	d.comp = newCompleter(d)
	return d, nil
}

// Start starts the producer, completer, heartbeat, listener, maintenance and
// intake goroutines and returns at once.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return tt.NewValidationError("dispatcher", "", "already started")
	}
	if len(d.cfg.Templates) > 0 {
		ids, err := d.eng.TemplateIDs(ctx, d.cfg.Templates)
		if err != nil {
			return err
		}
		d.namedTaskIDs = ids
	}
	d.started = true
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	d.goSafe(ctx, "producer", d.produce)
	for i := range flushLanes {
		d.goSafe(ctx, fmt.Sprintf("completer.%d", i), d.comp.run)
	}
	d.goSafe(ctx, "heartbeat", d.heartbeat)
	d.goSafe(ctx, "listener", d.listen)
	d.goSafe(ctx, "maintenance", d.maintain)
	d.goSafe(ctx, "intake", d.intake)
	return nil
}

// goSafe runs fn in a goroutine that recovers a panic (the library must never
// take its host process down) and restarts fn after a pause.
func (d *Dispatcher) goSafe(ctx context.Context, name string, fn func(context.Context)) {
	d.workers.Add(1)
	go func() {
		defer d.workers.Done()
		for ctx.Err() == nil {
			if !d.runRecovered(ctx, name, fn) {
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
}

func (d *Dispatcher) runRecovered(ctx context.Context, name string, fn func(context.Context)) (panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			d.cfg.Logger.Error("tasker dispatcher goroutine panicked; restarting it", "goroutine", name,
				"worker_id", d.cfg.WorkerID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	fn(ctx)
	return false
}

// Stats returns a snapshot of the counters.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	s := d.stats
	s.Waiting, s.Running, s.Quiet = len(d.waiters), len(d.running), d.quiet
	lat := d.latency
	d.mu.Unlock()
	s.ClaimSeconds, s.HandoffSeconds, s.ReportSeconds = lat.claim.snapshot(), lat.handoff.snapshot(), lat.report.snapshot()
	s.QueuedReports = d.comp.queued()
	return s
}

func (d *Dispatcher) count(f func(s *Stats)) {
	d.mu.Lock()
	f(&d.stats)
	d.mu.Unlock()
}
