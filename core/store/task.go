package store

import (
	"context"

	"github.com/tasker-systems/tasker-core-go/core/store/internal/dbsqlc"
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
	return optional(queries.TaskInsert(ctx, db, dbsqlc.TaskInsertParams{
		NamedTaskID:  p.NamedTaskID,
		Context:      p.Context,
		Initiator:    nullable(p.Initiator),
		SourceSystem: nullable(p.SourceSystem),
		Reason:       nullable(p.Reason),
		Tags:         p.Tags,
		IdentityHash: p.IdentityHash,
		Priority:     int32(p.Priority),
	}))
}

// TaskIDByIdentity finds the task holding an identity hash.
func TaskIDByIdentity(ctx context.Context, db DBTX, hash string) (int64, error) {
	return queries.TaskIDByIdentity(ctx, db, hash)
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
	r, err := queries.TaskLock(ctx, db, taskID)
	if err != nil {
		return nil, notFound(err, "task", taskID)
	}
	return &LockedTask{ID: r.TaskID, Status: tt.TaskState(r.Status), NamedTaskID: r.NamedTaskID}, nil
}

// TaskLockForStep locks the task of a step, in one round trip; a step that
// does not exist is a NotFoundError.
func TaskLockForStep(ctx context.Context, db DBTX, stepID int64) (*LockedTask, error) {
	r, err := queries.TaskLockForStep(ctx, db, stepID)
	if err != nil {
		return nil, notFound(err, "step", stepID)
	}
	return &LockedTask{ID: r.TaskID, Status: tt.TaskState(r.Status), NamedTaskID: r.NamedTaskID}, nil
}

// TaskLockSkipLocked locks a task row unless another transaction holds it;
// ok is false then (or when the task does not exist).
func TaskLockSkipLocked(ctx context.Context, db DBTX, taskID int64) (t *LockedTask, ok bool, err error) {
	r, ok, err := optional(queries.TaskLockSkipLocked(ctx, db, taskID))
	if !ok {
		return nil, false, err
	}
	return &LockedTask{ID: r.TaskID, Status: tt.TaskState(r.Status), NamedTaskID: r.NamedTaskID}, true, nil
}

// TaskSetStatus moves a task to status when it is in one of from; ok is
// false when it was not.
func TaskSetStatus(ctx context.Context, db DBTX, taskID int64, status tt.TaskState, from []string) (ok bool, err error) {
	_, ok, err = optional(queries.TaskSetStatus(ctx, db, dbsqlc.TaskSetStatusParams{
		Status: string(status), TaskID: taskID, FromStatuses: from,
	}))
	return ok, err
}

// TaskGet reads a task without its steps.
func TaskGet(ctx context.Context, db DBTX, taskID int64) (*tt.TaskStatus, error) {
	r, err := queries.TaskGet(ctx, db, taskID)
	if err != nil {
		return nil, notFound(err, "task", taskID)
	}
	t := tt.TaskStatus{
		TaskID: r.TaskID, Namespace: r.Namespace, Name: r.Name, Version: r.Version, Status: tt.TaskState(r.Status),
		Complete: r.Complete, Context: r.Context, Initiator: r.Initiator, SourceSystem: r.SourceSystem,
		Reason: r.Reason, Priority: int(r.Priority), RequestedAt: r.RequestedAt, CompletedAt: r.CompletedAt,
	}
	if err := unmarshalJSON(r.Tags, &t.Tags); err != nil {
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
	r, err := queries.TaskStepCounts(ctx, db, taskID)
	return StepCounts{Total: int(r.Total), Done: int(r.Done), Failed: int(r.Failed), Active: int(r.Active)}, err
}

// TaskExecutionContext runs get_task_execution_context.
func TaskExecutionContext(ctx context.Context, db DBTX, taskID int64) (*tt.TaskExecutionContext, error) {
	r, err := queries.TaskExecutionContext(ctx, db, taskID)
	if err != nil {
		return nil, notFound(err, "task", taskID)
	}
	return &tt.TaskExecutionContext{
		TaskID: r.TaskID, NamedTaskID: r.NamedTaskID, Status: tt.TaskState(r.Status),
		TotalSteps: int(r.TotalSteps), PendingSteps: int(r.PendingSteps), InProgressSteps: int(r.InProgressSteps),
		CompletedSteps: int(r.CompletedSteps), FailedSteps: int(r.FailedSteps),
		WaitingForRetrySteps: int(r.WaitingForRetrySteps), ReadySteps: int(r.ReadySteps),
		PermanentlyBlockedSteps: int(r.PermanentlyBlockedSteps), ExecutionStatus: tt.ExecutionStatus(r.ExecutionStatus),
		RecommendedAction: r.RecommendedAction, CompletionPercentage: r.CompletionPercentage, HealthStatus: r.HealthStatus,
	}, nil
}

// TaskExists reports whether a task exists.
func TaskExists(ctx context.Context, db DBTX, taskID int64) (bool, error) {
	return queries.TaskExists(ctx, db, taskID)
}
