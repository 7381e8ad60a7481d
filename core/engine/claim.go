package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/goccy/go-json"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/statemachine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

const maxLease = 24 * time.Hour

// ClaimSteps leases up to p.Limit ready steps to a worker with FOR UPDATE
// SKIP LOCKED, so concurrent workers never get the same step: the
// dispatcher's claim (DispatchClaim), for tools and tests that claim batches
// themselves. Each claim counts an attempt. Unlike the dispatcher, it first
// returns steps whose leases expired to the ready set.
func (e *Engine) ClaimSteps(ctx context.Context, p *tt.ClaimParams) (*tt.ClaimResult, error) {
	lease, err := e.validateClaim(p)
	if err != nil {
		return nil, err
	}
	if _, err := e.RecoverExpiredLeases(ctx); err != nil {
		return nil, err
	}
	steps, err := e.DispatchClaim(ctx, &DispatchClaimParams{Namespaces: p.Namespaces, Limit: p.Limit,
		WorkerID: p.WorkerID, Lease: lease})
	if err != nil {
		return nil, err
	}
	if steps == nil {
		steps = []tt.ClaimedStep{}
	}
	return &tt.ClaimResult{Steps: steps}, nil
}

// ClaimStep leases one named step if it is ready, for running a workflow one
// step at a time in tests. A step that is not ready is a NotReadyError saying
// why: dependencies unmet, in backoff, claimed, or already done.
func (e *Engine) ClaimStep(ctx context.Context, p *tt.ClaimOneParams) (*tt.ClaimedStep, error) {
	if p == nil {
		return nil, tt.NewValidationError("claim_step", "", "claim parameters are required")
	}
	lease, err := e.validateClaim(&tt.ClaimParams{Limit: 1, WorkerID: p.WorkerID, LeaseMS: p.LeaseMS})
	if err != nil {
		return nil, err
	}
	if p.StepID <= 0 {
		return nil, tt.NewValidationError("claim_step", "step_id", "must be > 0, got %d", p.StepID)
	}
	// As ClaimSteps does: a step whose lease expired is ready again, not
	// "claimed" by a worker that stopped heartbeating.
	if _, err := e.RecoverExpiredLeases(ctx); err != nil {
		return nil, err
	}
	var claimed *tt.ClaimedStep
	err = store.InTx(ctx, e.pool, "claim_step", func(tx pgx.Tx) error {
		step, err := store.StepLock(ctx, tx, p.StepID)
		if err != nil {
			return err
		}
		if !step.ReadyNow {
			return notReady(ctx, tx, step)
		}
		var ids []int64
		var steps []tt.ClaimedStep
		b := &pgx.Batch{}
		queueMeta(b, statemachine.EventExecutionRequested, map[string]any{"worker_id": p.WorkerID})
		store.QueueStepDispatchByIDs(b, []int64{p.StepID}, p.WorkerID, lease.Milliseconds(), &ids)
		store.QueueStepsClaimedNow(b, p.WorkerID, lease.Milliseconds(), &steps)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if len(ids) != 1 || len(steps) != 1 {
			return fmt.Errorf("claim_step: claimed %d steps, read %d back, want 1", len(ids), len(steps))
		}
		claimed = &steps[0]
		return nil
	})
	return claimed, err
}

func notReady(ctx context.Context, tx pgx.Tx, s *store.LockedStep) error {
	nr := &tt.NotReadyError{StepID: s.ID, StepName: s.Name, Status: s.Status}
	switch {
	case s.Status == tt.StepInProgress:
		nr.Reason, nr.ClaimedBy = tt.NotReadyClaimed, s.ClaimOwner
	case statemachine.StepTerminal(s.Status):
		nr.Reason = tt.NotReadyDone
	case s.Status == tt.StepError:
		nr.Reason = tt.NotReadyBlocked
	case s.PendingParents > 0:
		nr.Reason = tt.NotReadyDependencies
		unmet, err := store.StepUnmetParents(ctx, tx, s.ID)
		if err != nil {
			return err
		}
		nr.UnmetParents = unmet
	case s.Status == tt.StepWaitingForRetry:
		nr.Reason, nr.RetryAt = tt.NotReadyBackoff, s.NextRetryAt
	default:
		nr.Reason = tt.NotReadyBlocked
	}
	return nr
}

func (e *Engine) validateClaim(p *tt.ClaimParams) (time.Duration, error) {
	if p == nil {
		return 0, tt.NewValidationError("claim_steps", "", "claim parameters are required")
	}
	v := &tt.ValidationError{Op: "claim_steps"}
	if p.WorkerID == "" {
		v.Problems = append(v.Problems, tt.FieldError{Field: "worker_id", Problem: "is required"})
	} else if len(p.WorkerID) > 255 {
		v.Problems = append(v.Problems, tt.FieldError{Field: "worker_id", Problem: fmt.Sprintf("must be at most 255 bytes, got %d", len(p.WorkerID))})
	}
	if p.Limit < 1 || p.Limit > e.cfg.MaxClaimBatch {
		v.Problems = append(v.Problems, tt.FieldError{Field: "limit", Problem: fmt.Sprintf("must be within 1..%d, got %d", e.cfg.MaxClaimBatch, p.Limit)})
	}
	lease := time.Duration(p.LeaseMS) * time.Millisecond
	if p.LeaseMS == 0 {
		lease = e.cfg.DefaultLease
	} else if p.LeaseMS < 0 || lease > maxLease {
		v.Problems = append(v.Problems, tt.FieldError{Field: "lease_ms", Problem: fmt.Sprintf("must be within 1..%d, got %d", maxLease.Milliseconds(), p.LeaseMS)})
	}
	for i, ns := range p.Namespaces {
		if ns == "" {
			v.Problems = append(v.Problems, tt.FieldError{Field: fmt.Sprintf("namespaces[%d]", i), Problem: "must not be empty"})
		}
	}
	if len(v.Problems) > 0 {
		return 0, v
	}
	return lease, nil
}

// Heartbeat extends a claim's lease. A token that no longer holds the step is
// a StaleClaimError.
func (e *Engine) Heartbeat(ctx context.Context, p *tt.HeartbeatParams) (*tt.HeartbeatResult, error) {
	if p == nil {
		return nil, tt.NewValidationError("heartbeat", "", "heartbeat parameters are required")
	}
	if err := validateStepClaim("heartbeat", p.StepID, p.ClaimToken); err != nil {
		return nil, err
	}
	lease := time.Duration(p.LeaseMS) * time.Millisecond
	if p.LeaseMS == 0 {
		lease = e.cfg.DefaultLease
	} else if p.LeaseMS < 0 || lease > maxLease {
		return nil, tt.NewValidationError("heartbeat", "lease_ms", "must be within 1..%d, got %d", maxLease.Milliseconds(), p.LeaseMS)
	}
	expires, ok, err := store.StepHeartbeat(ctx, e.pool, p.StepID, p.ClaimToken, lease.Milliseconds())
	if err == nil && !ok {
		var status tt.StepState
		status, err = store.StepStatus(ctx, e.pool, p.StepID)
		if err == nil {
			err = &tt.StaleClaimError{StepID: p.StepID, Status: status}
		}
	}
	if err != nil {
		return nil, store.InterpretError("heartbeat", err)
	}
	return &tt.HeartbeatResult{StepID: p.StepID, LeaseExpiresAt: expires}, nil
}

// RecoverExpiredLeases returns steps whose workers stopped heartbeating to
// the ready set (or to error when they have no attempts left) and finalizes
// their tasks. Claims call it first; operators may call it too.
//
// Each task is recovered in one transaction that locks the task first, then
// its steps, as every report does, so recovery never deadlocks with a report
// or an operator action. A task locked at that moment is skipped: the next
// claim recovers it.
func (e *Engine) RecoverExpiredLeases(ctx context.Context) (int, error) {
	taskIDs, err := store.StepExpiredLeaseTasks(ctx, e.pool, e.cfg.LeaseRecoveryBatch)
	if err != nil {
		return 0, store.InterpretError("recover_leases", err)
	}
	total := 0
	for _, taskID := range taskIDs {
		var n int
		err := store.InTx(ctx, e.pool, "recover_leases", func(tx pgx.Tx) error {
			n = 0
			task, ok, err := store.TaskLockSkipLocked(ctx, tx, taskID)
			if err != nil || !ok {
				return err
			}
			if err := setMeta(ctx, tx, statemachine.EventLeaseExpired, nil); err != nil {
				return err
			}
			recovered, err := store.StepRecoverExpiredLeases(ctx, tx, taskID)
			if err != nil {
				return err
			}
			n = len(recovered)
			_, err = e.finalize(ctx, tx, task)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func validateStepClaim(op string, stepID int64, token string) error {
	v := &tt.ValidationError{Op: op}
	if stepID <= 0 {
		v.Problems = append(v.Problems, tt.FieldError{Field: "step_id", Problem: fmt.Sprintf("must be > 0, got %d", stepID)})
	}
	if token == "" {
		v.Problems = append(v.Problems, tt.FieldError{Field: "claim_token", Problem: "is required"})
	} else if !isUUID(token) {
		v.Problems = append(v.Problems, tt.FieldError{Field: "claim_token", Problem: fmt.Sprintf("must be a UUID, got %q", truncate(token, 64))})
	}
	if len(v.Problems) > 0 {
		return v
	}
	return nil
}

func isUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// truncate shortens what a caller sent before it goes into an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func setMeta(ctx context.Context, tx store.DBTX, ev statemachine.Event, extra map[string]any) error {
	b, err := json.Marshal(transitionMeta(ev, extra))
	if err != nil {
		return err
	}
	return store.SetTransitionMetadata(ctx, tx, b)
}
