package store

import (
	"context"

	"github.com/tasker-systems/tasker-core-go/core/store/internal/dbsqlc"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// TasksLockForPurge locks the tasks of ids that exist, in id order, and
// returns their ids (ascending).
func TasksLockForPurge(ctx context.Context, db DBTX, ids []int64) ([]int64, error) {
	return queries.TasksLockForPurge(ctx, db, ids)
}

// TasksLockAllForPurge locks every task, in id order, and returns their ids.
func TasksLockAllForPurge(ctx context.Context, db DBTX) ([]int64, error) {
	return queries.TasksLockAllForPurge(ctx, db)
}

// StepsLockForPurge locks every step of the tasks and counts them.
func StepsLockForPurge(ctx context.Context, db DBTX, taskIDs []int64) (int64, error) {
	return queries.StepsLockForPurge(ctx, db, taskIDs)
}

// StepsHeld lists the first maxListed steps of the tasks that a worker
// holds under a live lease, and how many there are in all.
func StepsHeld(ctx context.Context, db DBTX, taskIDs []int64, maxListed int) ([]tt.HeldStep, int, error) {
	rows, err := queries.StepsHeld(ctx, db, dbsqlc.StepsHeldParams{TaskIds: taskIDs, MaxListed: int32(maxListed)})
	if err != nil || len(rows) == 0 {
		return nil, 0, err
	}
	held := make([]tt.HeldStep, len(rows))
	for i, r := range rows {
		held[i] = tt.HeldStep{TaskID: r.TaskID, StepID: r.WorkflowStepID, StepName: r.Name, ClaimedBy: r.ClaimOwner,
			LeaseExpiresAt: r.LeaseExpiresAt}
	}
	return held, int(rows[0].Total), nil
}

// TasksDelete deletes tasks with their steps, edges and transitions; returns
// how many tasks it deleted.
func TasksDelete(ctx context.Context, db DBTX, ids []int64) (int64, error) {
	return queries.TasksDelete(ctx, db, ids)
}

// LockHolders lists up to max sessions holding locks on tasker_* tables in
// an open transaction (see the query for which locks count).
func LockHolders(ctx context.Context, db DBTX, max int) ([]tt.LockHolder, error) {
	rows, err := queries.LockHolders(ctx, db, int32(max))
	if err != nil {
		return nil, err
	}
	out := make([]tt.LockHolder, len(rows))
	for i, r := range rows {
		out[i] = tt.LockHolder{PID: r.Pid, ApplicationName: r.ApplicationName, State: r.State, XactStart: r.XactStart,
			TransactionAge: r.TransactionAge, Query: r.Query, Locks: r.Locks}
	}
	return out, nil
}
