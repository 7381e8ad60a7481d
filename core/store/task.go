package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// TaskInsertParams is a new task row.
type TaskInsertParams struct {
	NamedTaskID  int64
	Context      []byte
	Initiator    string
	SourceSystem string
	Reason       string
	Tags         []byte
	IdentityHash string
	Priority     int
}

// TaskInsert creates a task; ok is false when a task with the same identity
// hash exists (nothing is written then).
func TaskInsert(ctx context.Context, db DBTX, p *TaskInsertParams) (id int64, ok bool, err error) {
	err = db.QueryRow(ctx, sqlOf("TaskInsert"), p.NamedTaskID, p.Context, nullable(p.Initiator), nullable(p.SourceSystem),
		nullable(p.Reason), p.Tags, p.IdentityHash, p.Priority).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// TaskIDByIdentity finds the task holding an identity hash.
func TaskIDByIdentity(ctx context.Context, db DBTX, hash string) (int64, error) {
	var id int64
	err := db.QueryRow(ctx, sqlOf("TaskIDByIdentity"), hash).Scan(&id)
	return id, err
}

// LockedTask is a task row locked for the rest of the transaction.
type LockedTask struct {
	ID          int64
	Status      tt.TaskState
	NamedTaskID int64
}

// TaskLock locks a task row; every transaction that changes several rows of
// a task takes this lock first, so they serialize instead of deadlocking.
func TaskLock(ctx context.Context, db DBTX, taskID int64) (*LockedTask, error) {
	var t LockedTask
	err := db.QueryRow(ctx, sqlOf("TaskLock"), taskID).Scan(&t.ID, &t.Status, &t.NamedTaskID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &tt.NotFoundError{Kind: "task", Key: itoa(taskID)}
	}
	return &t, err
}

// TaskLockForStep locks the task of a step, in one round trip; a step that
// does not exist is a NotFoundError.
func TaskLockForStep(ctx context.Context, db DBTX, stepID int64) (*LockedTask, error) {
	var t LockedTask
	err := db.QueryRow(ctx, sqlOf("TaskLockForStep"), stepID).Scan(&t.ID, &t.Status, &t.NamedTaskID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &tt.NotFoundError{Kind: "step", Key: itoa(stepID)}
	}
	return &t, err
}

// TaskLockSkipLocked locks a task row unless another transaction holds it;
// ok is false then (or when the task does not exist).
func TaskLockSkipLocked(ctx context.Context, db DBTX, taskID int64) (t *LockedTask, ok bool, err error) {
	t = &LockedTask{}
	err = db.QueryRow(ctx, sqlOf("TaskLockSkipLocked"), taskID).Scan(&t.ID, &t.Status, &t.NamedTaskID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return t, err == nil, err
}

// TaskSetStatus moves a task to status when it is in one of from; ok is
// false when it was not.
func TaskSetStatus(ctx context.Context, db DBTX, taskID int64, status tt.TaskState, from []string) (ok bool, err error) {
	var got string
	err = db.QueryRow(ctx, sqlOf("TaskSetStatus"), taskID, string(status), from).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// TaskGet reads a task without its steps.
func TaskGet(ctx context.Context, db DBTX, taskID int64) (*tt.TaskStatus, error) {
	var t tt.TaskStatus
	var tags []byte
	err := db.QueryRow(ctx, sqlOf("TaskGet"), taskID).Scan(&t.TaskID, &t.Namespace, &t.Name, &t.Version, &t.Status,
		&t.Complete, &t.Context, &tags, &t.Initiator, &t.SourceSystem, &t.Reason, &t.Priority, &t.RequestedAt, &t.CompletedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &tt.NotFoundError{Kind: "task", Key: itoa(taskID)}
	}
	if err != nil {
		return nil, err
	}
	if err := unmarshalJSON(tags, &t.Tags); err != nil {
		return nil, err
	}
	return &t, nil
}

// StepCounts summarises a task's steps for finalization.
type StepCounts struct {
	Total, Done, Failed int
	// Active counts steps that can still make progress: claimed, waiting for
	// a retry, or ready.
	Active int
}

// TaskStepCounts counts a task's steps by what they can still do.
func TaskStepCounts(ctx context.Context, db DBTX, taskID int64) (StepCounts, error) {
	var c StepCounts
	err := db.QueryRow(ctx, sqlOf("TaskStepCounts"), taskID).Scan(&c.Total, &c.Done, &c.Failed, &c.Active)
	return c, err
}

// TaskExecutionContext runs get_task_execution_context.
func TaskExecutionContext(ctx context.Context, db DBTX, taskID int64) (*tt.TaskExecutionContext, error) {
	var c tt.TaskExecutionContext
	err := db.QueryRow(ctx, sqlOf("TaskExecutionContext"), taskID).Scan(&c.TaskID, &c.NamedTaskID, &c.Status,
		&c.TotalSteps, &c.PendingSteps, &c.InProgressSteps, &c.CompletedSteps, &c.FailedSteps, &c.WaitingForRetrySteps,
		&c.ReadySteps, &c.PermanentlyBlockedSteps, &c.ExecutionStatus, &c.RecommendedAction, &c.CompletionPercentage,
		&c.HealthStatus)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &tt.NotFoundError{Kind: "task", Key: itoa(taskID)}
	}
	return &c, err
}

// TaskExists reports whether a task exists.
func TaskExists(ctx context.Context, db DBTX, taskID int64) (bool, error) {
	var ok bool
	err := db.QueryRow(ctx, sqlOf("TaskExists"), taskID).Scan(&ok)
	return ok, err
}
