package engine

import (
	"context"
	"strconv"
	"time"

	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// TaskStatus returns a task with every step's state, attempts and duration.
func (e *Engine) TaskStatus(ctx context.Context, taskID int64) (*tt.TaskStatus, error) {
	if taskID <= 0 {
		return nil, tt.NewValidationError("task_status", "task_id", "must be > 0, got %d", taskID)
	}
	t, err := store.TaskGet(ctx, e.pool, taskID)
	if err != nil {
		return nil, store.InterpretError("task_status", err)
	}
	t.Steps, err = store.StepsForTask(ctx, e.pool, taskID)
	if err != nil {
		return nil, store.InterpretError("task_status", err)
	}
	return t, nil
}

// TaskExecutionContext runs get_task_execution_context for a task.
func (e *Engine) TaskExecutionContext(ctx context.Context, taskID int64) (*tt.TaskExecutionContext, error) {
	if taskID <= 0 {
		return nil, tt.NewValidationError("task_execution_context", "task_id", "must be > 0, got %d", taskID)
	}
	c, err := store.TaskExecutionContext(ctx, e.pool, taskID)
	return c, store.InterpretError("task_execution_context", err)
}

// StepReadiness runs get_step_readiness_status for a task's steps (all of
// them when stepIDs is empty).
func (e *Engine) StepReadiness(ctx context.Context, taskID int64, stepIDs []int64) ([]tt.StepReadiness, error) {
	if err := e.requireTask(ctx, "step_readiness", taskID); err != nil {
		return nil, err
	}
	if len(stepIDs) == 0 {
		stepIDs = nil
	}
	r, err := store.StepReadiness(ctx, e.pool, taskID, stepIDs)
	return r, store.InterpretError("step_readiness", err)
}

// DependencyLevels runs calculate_dependency_levels for a task.
func (e *Engine) DependencyLevels(ctx context.Context, taskID int64) ([]tt.DependencyLevel, error) {
	if err := e.requireTask(ctx, "dependency_levels", taskID); err != nil {
		return nil, err
	}
	l, err := store.DependencyLevels(ctx, e.pool, taskID)
	return l, store.InterpretError("dependency_levels", err)
}

func (e *Engine) requireTask(ctx context.Context, op string, taskID int64) error {
	if taskID <= 0 {
		return tt.NewValidationError(op, "task_id", "must be > 0, got %d", taskID)
	}
	ok, err := store.TaskExists(ctx, e.pool, taskID)
	if err != nil {
		return store.InterpretError(op, err)
	}
	if !ok {
		return &tt.NotFoundError{Kind: "task", Key: strconv.FormatInt(taskID, 10)}
	}
	return nil
}

// maxPingSleep bounds the server-side wait of Ping.
const maxPingSleep = time.Minute

// Ping checks the database answers, optionally waiting sleep on the server
// (a health check with 0; with a wait, a way to show that concurrent callers
// do not block one another).
func (e *Engine) Ping(ctx context.Context, sleep time.Duration) error {
	if sleep < 0 || sleep > maxPingSleep {
		return tt.NewValidationError("ping", "sleep_ms", "must be within 0..%d, got %d", maxPingSleep.Milliseconds(), sleep.Milliseconds())
	}
	return store.InterpretError("ping", store.Ping(ctx, e.pool, sleep.Milliseconds()))
}

// TaskTransitions returns a task's history: its transitions and its steps',
// each oldest first (the steps' newest tt.MaxTransitions at most). An
// unknown task is a NotFoundError.
func (e *Engine) TaskTransitions(ctx context.Context, taskID int64) (*tt.TaskTransitions, error) {
	if err := e.requireTask(ctx, "task_transitions", taskID); err != nil {
		return nil, err
	}
	res, err := store.TaskTransitions(ctx, e.pool, taskID)
	return res, store.InterpretError("task_transitions", err)
}
