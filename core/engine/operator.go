package engine

import (
	"bytes"
	"context"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/statemachine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// CancelTask cancels a task and every step of it that has not finished;
// nothing of it is claimed afterwards, and workers holding its steps get a
// StaleClaimError when they report.
func (e *Engine) CancelTask(ctx context.Context, p *tt.CancelTaskParams) (*tt.TaskStatus, error) {
	if p == nil {
		return nil, tt.NewValidationError("cancel_task", "", "parameters are required")
	}
	if err := validateTaskID("cancel_task", p.TaskID); err != nil {
		return nil, err
	}
	err := store.InTx(ctx, e.pool, "cancel_task", func(tx pgx.Tx) error {
		task, err := store.TaskLock(ctx, tx, p.TaskID)
		if err != nil {
			return err
		}
		ev := statemachine.EventCancelled
		if err := statemachine.CheckTask(task.ID, ev, task.Status, tt.TaskCancelled); err != nil {
			return err
		}
		if err := setMeta(ctx, tx, ev, map[string]any{"reason": p.Reason}); err != nil {
			return err
		}
		if err := store.StepsCancelForTask(ctx, tx, task.ID, statemachine.StepSources(ev)); err != nil {
			return err
		}
		return taskMoved(ctx, tx, task, ev, tt.TaskCancelled)
	})
	if err != nil {
		return nil, err
	}
	e.cfg.Logger.Info("tasker engine: task cancelled", "task_id", p.TaskID, "reason", p.Reason)
	return e.TaskStatus(ctx, p.TaskID)
}

// RetryTask moves a task in error back to pending: its errored steps return
// to pending with their attempts reset, and workers pick them up again.
func (e *Engine) RetryTask(ctx context.Context, p *tt.RetryTaskParams) (*tt.TaskStatus, error) {
	if p == nil {
		return nil, tt.NewValidationError("retry_task", "", "parameters are required")
	}
	if err := validateTaskID("retry_task", p.TaskID); err != nil {
		return nil, err
	}
	err := store.InTx(ctx, e.pool, "retry_task", func(tx pgx.Tx) error {
		task, err := store.TaskLock(ctx, tx, p.TaskID)
		if err != nil {
			return err
		}
		ev := statemachine.EventRetryRequested
		if err := statemachine.CheckTask(task.ID, ev, task.Status, tt.TaskPending); err != nil {
			return err
		}
		if err := setMeta(ctx, tx, ev, map[string]any{"reason": p.Reason}); err != nil {
			return err
		}
		if _, err := store.StepsRetryForTask(ctx, tx, task.ID); err != nil {
			return err
		}
		return taskMoved(ctx, tx, task, ev, tt.TaskPending)
	})
	if err != nil {
		return nil, err
	}
	e.cfg.Logger.Info("tasker engine: task retried", "task_id", p.TaskID, "reason", p.Reason)
	return e.TaskStatus(ctx, p.TaskID)
}

// ResolveStep marks a pending, waiting or failed step resolved manually (a
// step a worker holds cannot be resolved under it). Its children may then
// proceed, and its task is finalized: it may complete, or leave error.
func (e *Engine) ResolveStep(ctx context.Context, p *tt.ResolveStepParams) (*tt.StepResult, error) {
	if p == nil {
		return nil, tt.NewValidationError("resolve_step", "", "resolve parameters are required")
	}
	if p.StepID <= 0 {
		return nil, tt.NewValidationError("resolve_step", "step_id", "must be > 0, got %d", p.StepID)
	}
	var results []byte
	if len(bytes.TrimSpace(p.Results)) > 0 {
		if !json.Valid(p.Results) {
			return nil, tt.NewValidationError("resolve_step", "results", "must be valid JSON")
		}
		results = p.Results
	}
	var res tt.StepResult
	err := store.InTx(ctx, e.pool, "resolve_step", func(tx pgx.Tx) error {
		task, err := store.TaskLockForStep(ctx, tx, p.StepID)
		if err != nil {
			return err
		}
		step, err := store.StepLock(ctx, tx, p.StepID)
		if err != nil {
			return err
		}
		ev := statemachine.EventResolvedManually
		if err := statemachine.CheckStep(step.ID, ev, step.Status, tt.StepResolvedManually); err != nil {
			return err
		}
		if err := setMeta(ctx, tx, ev, map[string]any{"reason": p.Reason}); err != nil {
			return err
		}
		ok, err := store.StepResolve(ctx, tx, step.ID, results, statemachine.StepSources(ev))
		if err := applied(ok, err, step, tt.StepResolvedManually); err != nil {
			return err
		}
		if err := store.StepChildrenRelease(ctx, tx, step.ID); err != nil {
			return err
		}
		res = tt.StepResult{WorkflowStepID: step.ID, TaskID: step.TaskID, StepName: step.Name,
			Status: tt.StepResolvedManually, Attempts: step.Attempts}
		res.TaskStatus, err = e.finalize(ctx, tx, task)
		return err
	})
	if err != nil {
		return nil, err
	}
	e.cfg.Logger.Info("tasker engine: step resolved manually", "task_id", res.TaskID, "step_id", res.WorkflowStepID,
		"step", res.StepName, "task_status", res.TaskStatus, "reason", p.Reason)
	return &res, nil
}

func validateTaskID(op string, id int64) error {
	if id <= 0 {
		return tt.NewValidationError(op, "task_id", "must be > 0, got %d", id)
	}
	return nil
}
