package engine

import (
	"context"

	"github.com/tasker-systems/tasker-core-go/core/statemachine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// finalize moves a locked task to the state its steps call for and returns
// the task's state afterwards:
//   - every step complete or resolved → complete;
//   - nothing can make progress and some step failed → error;
//   - a task in error whose steps can progress again (a step was resolved or
//     retried) → pending, so the next claim starts it.
//
// The task row lock serializes finalizations of one task, so the last two
// completions can never both miss that the task is done.
func (e *Engine) finalize(ctx context.Context, tx store.DBTX, task *store.LockedTask) (tt.TaskState, error) {
	if task.Status == tt.TaskCancelled || task.Status == tt.TaskComplete || task.Status == tt.TaskResolvedManually {
		return task.Status, nil
	}
	c, err := store.TaskStepCounts(ctx, tx, task.ID)
	if err != nil {
		return "", err
	}
	var path []tt.TaskState
	switch {
	case c.Total > 0 && c.Done == c.Total:
		path = pathTo(task.Status, tt.TaskComplete)
	case c.Active == 0 && c.Failed > 0:
		path = pathTo(task.Status, tt.TaskError)
	case task.Status == tt.TaskError && c.Active > 0:
		path = []tt.TaskState{tt.TaskPending}
	}
	for _, next := range path {
		ev := taskEvent(next)
		if err := setMeta(ctx, tx, ev, map[string]any{"total_steps": c.Total,
			"completed_steps": c.Done, "failed_steps": c.Failed}); err != nil {
			return "", err
		}
		if err := taskMoved(ctx, tx, task, ev, next); err != nil {
			return "", err
		}
	}
	return task.Status, nil
}

// markStarted moves a pending task to in_progress when a worker reports on
// one of its steps: the claim that should have started it skips tasks locked
// at that moment rather than wait for them.
func (e *Engine) markStarted(ctx context.Context, tx store.DBTX, task *store.LockedTask) error {
	if task.Status != tt.TaskPending {
		return nil
	}
	if err := setMeta(ctx, tx, statemachine.EventStartRequested, nil); err != nil {
		return err
	}
	return taskMoved(ctx, tx, task, statemachine.EventStartRequested, tt.TaskInProgress)
}

// taskMoved moves a locked task to `to` on ev (the transaction's metadata
// already names ev); a compare-and-set that matches no row is the state
// machine's refusal, never ignored.
func taskMoved(ctx context.Context, tx store.DBTX, task *store.LockedTask, ev statemachine.Event, to tt.TaskState) error {
	ok, err := store.TaskSetStatus(ctx, tx, task.ID, to, statemachine.TaskSources(ev))
	if err != nil {
		return err
	}
	if !ok {
		return statemachine.CheckTask(task.ID, ev, task.Status, to)
	}
	task.Status = to
	return nil
}

// pathTo walks the task state machine from a state to a target through
// pending and in_progress, e.g. error → pending → in_progress → complete when
// an operator resolves a task's last failed step.
func pathTo(from, to tt.TaskState) []tt.TaskState {
	if from == to {
		return nil
	}
	var path []tt.TaskState
	cur := from
	for !statemachine.TaskAllowed(cur, to) {
		switch cur {
		case tt.TaskError:
			cur = tt.TaskPending
		case tt.TaskPending:
			cur = tt.TaskInProgress
		default:
			return append(path, to) // let the store reject it as an invalid transition
		}
		path = append(path, cur)
	}
	return append(path, to)
}

func taskEvent(to tt.TaskState) statemachine.Event {
	switch to {
	case tt.TaskComplete:
		return statemachine.EventCompleted
	case tt.TaskError:
		return statemachine.EventFailed
	case tt.TaskPending:
		return statemachine.EventRetryRequested
	default:
		return statemachine.EventStartRequested
	}
}

// transitionMeta is the metadata of the transition rows a statement writes:
// its event and what else the caller records.
func transitionMeta(ev statemachine.Event, extra map[string]any) map[string]any {
	meta := make(map[string]any, len(extra)+1)
	for k, v := range extra {
		meta[k] = v
	}
	meta["event"] = ev
	return meta
}
