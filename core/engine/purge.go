package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// maxHeldListed caps the held steps a TasksHeldError lists.
const maxHeldListed = 20

// PurgeTasks deletes the named tasks for good, in one transaction: each with
// its steps, their edges, every transition row and every result. An id that
// names no task is a TasksNotFoundError (nothing purged) unless
// p.SkipMissing; a task with a step a worker holds is a TasksHeldError
// (nothing purged) unless p.Force. Templates are not touched.
//
// The tasks and then their steps are locked first (in id order, as every
// multi-task statement locks them), so a worker can neither claim nor
// report a step of them while the purge decides; with Force, a worker
// holding a step gets a not_found or stale_claim error when it reports.
func (e *Engine) PurgeTasks(ctx context.Context, p *tt.PurgeTasksParams) (*tt.PurgeResult, error) {
	const op = "purge_tasks"
	ids, err := validatePurge(op, p)
	if err != nil {
		return nil, err
	}
	var res *tt.PurgeResult
	err = store.InTx(ctx, e.pool, op, func(tx pgx.Tx) error {
		found, err := store.TasksLockForPurge(ctx, tx, ids)
		if err != nil {
			return err
		}
		missing := difference(ids, found)
		if len(missing) > 0 && !p.SkipMissing {
			return &tt.TasksNotFoundError{Op: op, IDs: missing}
		}
		res, err = purgeLocked(ctx, tx, op, found, p.Force)
		if res != nil {
			res.MissingTaskIDs = missing
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	e.cfg.Logger.Info("tasker engine: tasks purged", "tasks", res.PurgedTasks, "steps", res.PurgedSteps,
		"missing", len(res.MissingTaskIDs), "force", p.Force)
	return res, nil
}

// PurgeAllTasks deletes every task, as PurgeTasks does: for test suites and
// development databases that start over. Templates stay registered. It
// locks every task and step row in one transaction, so on a large
// production table purge by id, in batches, instead.
func (e *Engine) PurgeAllTasks(ctx context.Context, p *tt.PurgeAllTasksParams) (*tt.PurgeResult, error) {
	const op = "purge_all_tasks"
	if p == nil {
		return nil, tt.NewValidationError(op, "", "parameters are required")
	}
	var res *tt.PurgeResult
	err := store.InTx(ctx, e.pool, op, func(tx pgx.Tx) error {
		ids, err := store.TasksLockAllForPurge(ctx, tx)
		if err != nil {
			return err
		}
		res, err = purgeLocked(ctx, tx, op, ids, p.Force)
		return err
	})
	if err != nil {
		return nil, err
	}
	e.cfg.Logger.Info("tasker engine: all tasks purged", "tasks", res.PurgedTasks, "steps", res.PurgedSteps, "force", p.Force)
	return res, nil
}

// purgeLocked deletes tasks whose rows tx has locked: it locks their steps,
// refuses held ones unless force, and deletes.
func purgeLocked(ctx context.Context, tx pgx.Tx, op string, ids []int64, force bool) (*tt.PurgeResult, error) {
	res := &tt.PurgeResult{MissingTaskIDs: []int64{}}
	if len(ids) == 0 {
		return res, nil
	}
	steps, err := store.StepsLockForPurge(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	if !force {
		held, count, err := store.StepsHeld(ctx, tx, ids, maxHeldListed)
		if err != nil {
			return nil, err
		}
		if count > 0 {
			return nil, &tt.TasksHeldError{Op: op, Held: held, Count: count}
		}
	}
	n, err := store.TasksDelete(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	if n != int64(len(ids)) {
		return nil, fmt.Errorf("%s: deleted %d tasks, locked %d", op, n, len(ids))
	}
	res.PurgedTasks, res.PurgedSteps = n, steps
	return res, nil
}

// validatePurge checks p and returns its ids sorted, each once.
func validatePurge(op string, p *tt.PurgeTasksParams) ([]int64, error) {
	if p == nil {
		return nil, tt.NewValidationError(op, "", "parameters are required")
	}
	switch {
	case len(p.TaskIDs) == 0:
		return nil, tt.NewValidationError(op, "task_ids", "must name at least one task (purging every task is PurgeAllTasks)")
	case len(p.TaskIDs) > tt.MaxPurgeTaskIDs:
		return nil, tt.NewValidationError(op, "task_ids", "must have at most %d ids, got %d: purge in batches",
			tt.MaxPurgeTaskIDs, len(p.TaskIDs))
	}
	v := &tt.ValidationError{Op: op}
	for i, id := range p.TaskIDs {
		if id <= 0 && len(v.Problems) < 10 {
			v.Problems = append(v.Problems, tt.FieldError{Field: fmt.Sprintf("task_ids[%d]", i),
				Problem: fmt.Sprintf("must be > 0, got %d", id)})
		}
	}
	if len(v.Problems) > 0 {
		return nil, v
	}
	ids := slices.Clone(p.TaskIDs)
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// difference returns the ids of want (sorted) that are not in have (sorted).
func difference(want, have []int64) []int64 {
	out := []int64{}
	j := 0
	for _, id := range want {
		for j < len(have) && have[j] < id {
			j++
		}
		if j >= len(have) || have[j] != id {
			out = append(out, id)
		}
	}
	return out
}
