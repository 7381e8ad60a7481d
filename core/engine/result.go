package engine

import (
	"context"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/statemachine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// CompleteStep stores a step's results exactly as given, marks it complete,
// lets children whose parents are all done become ready, and completes the
// task when every step is done. A claim token that no longer holds the step is
// a StaleClaimError, so no result is ever recorded twice.
func (e *Engine) CompleteStep(ctx context.Context, p *tt.CompleteParams) (*tt.StepResult, error) {
	if p == nil {
		return nil, tt.NewValidationError("complete_step", "", "completion parameters are required")
	}
	checked := &Report{Kind: ReportComplete, StepID: p.StepID, ClaimToken: p.ClaimToken, Results: p.Results}
	if err := ValidateReport(checked); err != nil {
		return nil, err
	}
	results := checked.Results
	return e.report(ctx, "complete_step", p.StepID, p.ClaimToken, func(tx pgx.Tx, s *store.LockedStep, r *tt.StepResult) error {
		if err := setMeta(ctx, tx, statemachine.EventCompleted, nil); err != nil {
			return err
		}
		ok, err := store.StepComplete(ctx, tx, s.ID, results, statemachine.StepSources(statemachine.EventCompleted))
		if err := applied(ok, err, s, tt.StepComplete); err != nil {
			return err
		}
		r.Status = tt.StepComplete
		return store.StepChildrenRelease(ctx, tx, s.ID)
	})
}

// FailStep records a failed attempt. A retryable failure of a retryable step
// with attempts left waits in waiting_for_retry for its backoff (the handler's
// requested seconds, else the engine's exponential schedule); a permanent or
// exhausted one goes to error, and the task goes to error once nothing else
// can make progress.
func (e *Engine) FailStep(ctx context.Context, p *tt.FailParams) (*tt.StepResult, error) {
	if p == nil {
		return nil, tt.NewValidationError("fail_step", "", "failure parameters are required")
	}
	if err := ValidateReport(&Report{Kind: ReportFail, StepID: p.StepID, ClaimToken: p.ClaimToken, Failure: p}); err != nil {
		return nil, err
	}
	return e.report(ctx, "fail_step", p.StepID, p.ClaimToken, func(tx pgx.Tx, s *store.LockedStep, r *tt.StepResult) error {
		next, lastError, err := failedAttempt(p, s.Attempts, s.Retryable, s.RetryLimit)
		if err != nil {
			return err
		}
		if err := setMeta(ctx, tx, statemachine.EventFailed, map[string]any{"error_class": p.Error.Class,
			"error_message": truncate(p.Error.Message, 1000), "permanent": p.Permanent}); err != nil {
			return err
		}
		delay := e.cfg.Backoff.Delay(s.Attempts, p.BackoffSeconds)
		var ok bool
		r.NextRetryAt, ok, err = store.StepFail(ctx, tx, &store.StepFailParams{
			StepID: s.ID, Status: next, DelayMS: delay.Milliseconds(), BackoffSeconds: p.BackoffSeconds,
			LastError: lastError, From: statemachine.StepSources(statemachine.EventFailed),
		})
		r.Status = next
		return applied(ok, err, s, next)
	})
}

// ReleaseStep gives back a step the worker claimed but will not run, as a
// worker shutting down does: the step returns to pending at once and the
// claim's attempt does not count. A stale token is a StaleClaimError.
func (e *Engine) ReleaseStep(ctx context.Context, p *tt.ReleaseParams) (*tt.StepResult, error) {
	if p == nil {
		return nil, tt.NewValidationError("release_step", "", "release parameters are required")
	}
	if err := ValidateReport(&Report{Kind: ReportRelease, StepID: p.StepID, ClaimToken: p.ClaimToken}); err != nil {
		return nil, err
	}
	return e.report(ctx, "release_step", p.StepID, p.ClaimToken, func(tx pgx.Tx, s *store.LockedStep, r *tt.StepResult) error {
		if err := setMeta(ctx, tx, statemachine.EventReleased, map[string]any{"reason": p.Reason}); err != nil {
			return err
		}
		r.Status, r.Attempts = tt.StepPending, max(s.Attempts-1, 0)
		ok, err := store.StepRelease(ctx, tx, s.ID, statemachine.StepSources(statemachine.EventReleased))
		return applied(ok, err, s, tt.StepPending)
	})
}

// report runs a worker's report on a claimed step: it locks the task, then
// the step, checks the claim token, applies fn and finalizes the task.
func (e *Engine) report(ctx context.Context, op string, stepID int64, token string,
	fn func(tx pgx.Tx, s *store.LockedStep, r *tt.StepResult) error) (*tt.StepResult, error) {
	var res tt.StepResult
	err := store.InTx(ctx, e.pool, op, func(tx pgx.Tx) error {
		task, err := store.TaskLockForStep(ctx, tx, stepID)
		if err != nil {
			return err
		}
		step, err := store.StepLock(ctx, tx, stepID)
		if err != nil {
			return err
		}
		if step.ClaimToken != token || step.Status != tt.StepInProgress {
			return &tt.StaleClaimError{StepID: stepID, Status: step.Status}
		}
		res = tt.StepResult{WorkflowStepID: step.ID, TaskID: step.TaskID, StepName: step.Name, Attempts: step.Attempts}
		if err := fn(tx, step, &res); err != nil {
			return err
		}
		if err := e.markStarted(ctx, tx, task); err != nil {
			return err
		}
		res.TaskStatus, err = e.finalize(ctx, tx, task)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// failedAttempt decides where a failed attempt goes (waiting_for_retry when
// the failure is not permanent, the step retryable and attempts are left,
// else error) and the last_error it records.
func failedAttempt(p *tt.FailParams, attempts int, retryable bool, retryLimit int) (tt.StepState, []byte, error) {
	next := tt.StepError
	if !p.Permanent && retryable && attempts < retryLimit {
		next = tt.StepWaitingForRetry
	}
	lastError, err := json.Marshal(map[string]any{
		"class": p.Error.Class, "message": p.Error.Message, "backtrace": p.Error.Backtrace,
		"attempt": attempts, "permanent": p.Permanent,
	})
	return next, lastError, err
}

// applied turns a compare-and-set update that matched no row into the state
// machine's refusal, so a transition is never silently skipped.
func applied(ok bool, err error, s *store.LockedStep, to tt.StepState) error {
	if err != nil || ok {
		return err
	}
	return &tt.InvalidTransitionError{Entity: "step", ID: s.ID, From: string(s.Status), To: string(to)}
}
