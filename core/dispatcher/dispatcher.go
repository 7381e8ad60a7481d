package dispatcher

import (
	"context"
	"errors"
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
	QueuedReports int `json:"queued_reports"`
	Claimed       int64 `json:"claimed"`
	HandedOff     int64 `json:"handed_off"`
	Completed     int64 `json:"completed"`
	Failed        int64 `json:"failed"`
	TimedOut      int64 `json:"timed_out"`
	Stale         int64 `json:"stale"`
	Released      int64 `json:"released"`
	Claims        int64 `json:"claims"`
	Flushes       int64 `json:"flushes"`
	FlushRetries  int64 `json:"flush_retries"`
	Rescued       int64 `json:"rescued"`
	Quiet         bool  `json:"quiet"`
}

// Dispatcher hands one worker's steps to its executors. It is safe for
// concurrent use; see the package doc for what it runs.
type Dispatcher struct {
	cfg Config
	eng *engine.Engine

	mu      sync.Mutex
	waiters []*waiter
	spare   []spareStep // claimed, no waiter left to take it
	running map[int64]*job
	quiet   bool
	stats   Stats

	wakeProducer chan struct{}
	maybeMore    bool // a claim may find steps (notified, polled, or the last claim was full)

	comp *completer

	cancel context.CancelFunc
	done   sync.WaitGroup
	quietC chan struct{}
}

type waiter struct {
	ch chan *tt.ClaimedStep // buffered 1; the giver sends exactly once
}

type spareStep struct {
	step *tt.ClaimedStep
	at   time.Time
}

// job is a step handed to an executor and not yet reported.
type job struct {
	stepID     int64
	token      string
	attempts   int
	deadline   time.Time
	timedOut   bool
	reportedAt time.Time
}

// New returns a dispatcher for one worker on eng. Start it before calling
// Next.
func New(eng *engine.Engine, cfg Config) (*Dispatcher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, tt.NewValidationError("dispatcher", "", "%s", err.Error())
	}
	d := &Dispatcher{
		cfg:          cfg,
		eng:          eng,
		running:      map[int64]*job{},
		wakeProducer: make(chan struct{}, 1),
		maybeMore:    true,
		quietC:       make(chan struct{}),
	}
	d.stats.WorkerID = cfg.WorkerID
	d.comp = newCompleter(d)
	return d, nil
}
