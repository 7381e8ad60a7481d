package dispatcher

import (
	"context"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Complete records a step's results and returns once they are durable. A
// claim that no longer holds (timed out, rescued) is a StaleClaimError. When
// ctx ends first the report stays queued and is still recorded; the caller
// gets a TimeoutError.
func (d *Dispatcher) Complete(ctx context.Context, p *tt.CompleteParams) (*tt.StepResult, error) {
	if p == nil {
		return nil, tt.NewValidationError("complete_step", "", "completion parameters are required")
	}
	return d.report(ctx, "complete_step", &engine.Report{Kind: engine.ReportComplete, StepID: p.StepID,
		ClaimToken: p.ClaimToken, Results: p.Results})
}

// Fail records a failed attempt and returns once it is durable; see Complete.
func (d *Dispatcher) Fail(ctx context.Context, p *tt.FailParams) (*tt.StepResult, error) {
	if p == nil {
		return nil, tt.NewValidationError("fail_step", "", "failure parameters are required")
	}
	return d.report(ctx, "fail_step", &engine.Report{Kind: engine.ReportFail, StepID: p.StepID,
		ClaimToken: p.ClaimToken, Failure: p})
}

func (d *Dispatcher) report(ctx context.Context, op string, r *engine.Report) (*tt.StepResult, error) {
	if err := engine.ValidateReport(r); err != nil {
		return nil, err
	}
	d.mu.Lock()
	if j := d.running[r.StepID]; j != nil && j.token == r.ClaimToken {
		j.reported = true // its lease is kept while the report waits; it can no longer time out
	}
	stopped := d.stopped
	var done chan outcome
	if !stopped { // under d.mu, so Stop's final drain cannot miss it
		done = d.comp.submit(r, originExecutor)
	}
	d.mu.Unlock()
	if stopped { // no completer any more: record it here (Stop released it, so it is most likely stale)
		res, err := d.eng.ReportBatch(ctx, []engine.Report{*r}, nil)
		if err != nil {
			return nil, err
		}
		return res.Outcomes[0].Result, res.Outcomes[0].Err
	}
	select {
	case o := <-done:
		return o.res, o.err
	case <-ctx.Done():
		return nil, &tt.TimeoutError{Op: op, Err: ctx.Err()}
	}
}
