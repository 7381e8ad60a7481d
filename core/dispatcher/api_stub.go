package dispatcher

import (
	"context"
	"errors"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

var errNotYet = errors.New("dispatcher: not implemented yet")

type completer struct{}

func newCompleter(*Dispatcher) *completer { return &completer{} }

// Start starts the producer, completer, heartbeat, listener and maintenance
// goroutines. It returns at once; ctx bounds nothing after Start returns.
func (d *Dispatcher) Start(ctx context.Context) error { return errNotYet }

// Next blocks until a step is handed to the caller, ctx is done (nil, nil) or
// the dispatcher is quiet (ErrStopped). The returned step's attempt has
// started: run its handler and report it with Complete or Fail.
func (d *Dispatcher) Next(ctx context.Context) (*tt.ClaimedStep, error) { return nil, errNotYet }

// Complete records a step's results and returns once they are durable. A
// claim that no longer holds (timed out, rescued) is a StaleClaimError. When
// ctx ends first the report stays queued and is still recorded.
func (d *Dispatcher) Complete(ctx context.Context, p *tt.CompleteParams) (*tt.StepResult, error) {
	return nil, errNotYet
}

// Fail records a failed attempt and returns once it is durable; see Complete.
func (d *Dispatcher) Fail(ctx context.Context, p *tt.FailParams) (*tt.StepResult, error) {
	return nil, errNotYet
}

// Quiet stops claiming: executors waiting in Next (and every later Next) get
// ErrStopped, and steps claimed but not handed out are released with their
// attempt given back. Running steps go on and report normally.
func (d *Dispatcher) Quiet() {}

// Stop quiets the dispatcher, waits until ctx for running steps to report
// and their reports to be recorded, then releases the steps still running
// (their attempt given back: the worker stopped, the handler did not fail)
// and stops every goroutine.
func (d *Dispatcher) Stop(ctx context.Context) error { return errNotYet }

// Stats returns a snapshot of the counters.
func (d *Dispatcher) Stats() Stats { return Stats{} }
