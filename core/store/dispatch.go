package store

import (
	"context"
	"errors"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Batcher sends several statements in one round trip (a pool, a connection
// or a transaction). Outside a transaction they run in one implicit
// transaction.
type Batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// StepDispatchParams selects and leases ready steps for a dispatcher.
type StepDispatchParams struct {
	Namespaces []string
	Limit      int
	WorkerID   string
	LeaseMS    int64
}

// StepDispatchReady claims up to Limit ready steps (of Namespaces, or of all
// namespaces when it is empty), starts their pending tasks, and returns the
// steps' ids. meta is the transition metadata of the claim; the setting and
// the claim travel in one round trip and one implicit transaction.
func StepDispatchReady(ctx context.Context, db Batcher, meta []byte, p *StepDispatchParams) ([]int64, error) {
	name := "StepDispatchReady"
	if len(p.Namespaces) == 0 {
		name = "StepDispatchReadyAny"
	}
	ns := p.Namespaces
	if ns == nil {
		ns = []string{}
	}
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('tasker.transition_metadata', $1, true)", string(meta))
	// With a million finished steps the claim's cost estimate crosses the JIT
	// threshold and compiling it takes 5x the query; it never pays off here.
	b.Queue("SELECT set_config('jit', 'off', true)")
	var ids []int64
	b.Queue(sqlOf(name), ns, p.Limit, p.WorkerID, p.LeaseMS).Query(func(rows pgx.Rows) error {
		var err error
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	return ids, db.SendBatch(ctx, b).Close()
}

// StepDispatchByIDs claims the given steps when they are ready.
func StepDispatchByIDs(ctx context.Context, db DBTX, ids []int64, workerID string, leaseMS int64) ([]int64, error) {
	rows, err := db.Query(ctx, sqlOf("StepDispatchByIDs"), ids, workerID, leaseMS)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// StepsPayload reads what executors need to run claimed steps, with their
// direct parents' results.
func StepsPayload(ctx context.Context, db DBTX, ids []int64) ([]tt.ClaimedStep, error) {
	rows, err := db.Query(ctx, sqlOf("StepsPayload"), ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tt.ClaimedStep, error) {
		var s tt.ClaimedStep
		var parents []byte
		err := r.Scan(&s.WorkflowStepID, &s.TaskID, &s.Namespace, &s.TaskName, &s.TaskVersion, &s.StepName,
			&s.Handler, &s.HandlerConfig, &s.TaskContext, &s.Inputs, &s.Attempts, &s.RetryLimit, &s.Retryable,
			&s.ClaimToken, &s.LeaseExpiresAt, &s.TimeoutSeconds, &parents)
		if err != nil {
			return s, err
		}
		s.DependencyResults = map[string]json.RawMessage{}
		return s, json.Unmarshal(parents, &s.DependencyResults)
	})
}

// ReportedStep is a reported step's row, locked.
type ReportedStep struct {
	ID         int64
	TaskID     int64
	Name       string
	Status     tt.StepState
	ClaimToken string
	Attempts   int
	Retryable  bool
	RetryLimit int
}

// StepsLockMany locks steps in id order.
func StepsLockMany(ctx context.Context, db DBTX, ids []int64) ([]ReportedStep, error) {
	rows, err := db.Query(ctx, sqlOf("StepsLockMany"), ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReportedStep, error) {
		var s ReportedStep
		err := r.Scan(&s.ID, &s.TaskID, &s.Name, &s.Status, &s.ClaimToken, &s.Attempts, &s.Retryable, &s.RetryLimit)
		return s, err
	})
}

// StepsFailManyParams are failed attempts, one entry per step.
type StepsFailManyParams struct {
	IDs        []int64
	Statuses   []string
	DelayMS    []int64
	Backoff    []*float64
	LastErrors [][]byte
}

// StepsCompleteMany completes steps in progress with their results (stored
// byte for byte) and returns the ids it completed.
func StepsCompleteMany(ctx context.Context, db DBTX, ids []int64, results []string) ([]int64, error) {
	rows, err := db.Query(ctx, sqlOf("StepsCompleteMany"), ids, results)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// StepsFailMany records failed attempts and returns each failed step's next
// retry time (nil for error).
func StepsFailMany(ctx context.Context, db DBTX, p *StepsFailManyParams) (map[int64]*time.Time, error) {
	lastErrors := make([]string, len(p.LastErrors))
	for i, b := range p.LastErrors {
		lastErrors[i] = string(b)
	}
	rows, err := db.Query(ctx, sqlOf("StepsFailMany"), p.IDs, p.Statuses, p.DelayMS, p.Backoff, lastErrors)
	if err != nil {
		return nil, err
	}
	out := map[int64]*time.Time{}
	var id int64
	var next *time.Time
	_, err = pgx.ForEachRow(rows, []any{&id, &next}, func() error {
		out[id] = next
		return nil
	})
	return out, err
}

// StepsReleaseMany gives back claimed steps unrun and returns those released.
func StepsReleaseMany(ctx context.Context, db DBTX, ids []int64) ([]int64, error) {
	rows, err := db.Query(ctx, sqlOf("StepsReleaseMany"), ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// ReleasedChild is a child of a finished parent.
type ReleasedChild struct {
	StepID int64
	TaskID int64
	Ready  bool
}

// StepChildrenReleaseMany lets the children of finished parents wait for
// one parent fewer each.
func StepChildrenReleaseMany(ctx context.Context, db DBTX, parents []int64) ([]ReleasedChild, error) {
	rows, err := db.Query(ctx, sqlOf("StepChildrenReleaseMany"), parents)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReleasedChild, error) {
		var c ReleasedChild
		err := r.Scan(&c.StepID, &c.TaskID, &c.Ready)
		return c, err
	})
}

// StepsHeartbeatMany extends leases and returns the steps still held.
func StepsHeartbeatMany(ctx context.Context, db DBTX, ids []int64, tokens []string, leaseMS int64) ([]int64, error) {
	rows, err := db.Query(ctx, sqlOf("StepsHeartbeatMany"), ids, tokens, leaseMS)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// TasksLockForSteps locks the tasks of steps in task_id order.
func TasksLockForSteps(ctx context.Context, db DBTX, stepIDs []int64) ([]LockedTask, error) {
	rows, err := db.Query(ctx, sqlOf("TasksLockForSteps"), stepIDs)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (LockedTask, error) {
		var t LockedTask
		err := r.Scan(&t.ID, &t.Status, &t.NamedTaskID)
		return t, err
	})
}

// TaskStepCountsMany counts each task's steps by what they can still do.
func TaskStepCountsMany(ctx context.Context, db DBTX, taskIDs []int64) (map[int64]StepCounts, error) {
	rows, err := db.Query(ctx, sqlOf("TaskStepCountsMany"), taskIDs)
	if err != nil {
		return nil, err
	}
	out := map[int64]StepCounts{}
	var id int64
	var c StepCounts
	_, err = pgx.ForEachRow(rows, []any{&id, &c.Total, &c.Done, &c.Failed, &c.Active}, func() error {
		out[id] = c
		return nil
	})
	return out, err
}

// TasksSetStatusMany moves tasks in one of the from states to status and
// returns those it moved.
func TasksSetStatusMany(ctx context.Context, db DBTX, ids []int64, status tt.TaskState, from []string) ([]int64, error) {
	rows, err := db.Query(ctx, sqlOf("TasksSetStatusMany"), ids, string(status), from)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// StepsReadyNotify wakes the producers listening for namespace's steps; the
// notification is sent when the transaction commits.
func StepsReadyNotify(ctx context.Context, db DBTX, namespace string) error {
	_, err := db.Exec(ctx, sqlOf("StepsReadyNotify"), namespace)
	return err
}

// LeaderTryLock takes the session advisory lock key on conn without waiting.
func LeaderTryLock(ctx context.Context, db DBTX, key int64) (bool, error) {
	var ok bool
	err := db.QueryRow(ctx, sqlOf("LeaderTryLock"), key).Scan(&ok)
	return ok, err
}

// LeaderUnlock releases a lock LeaderTryLock took on the same connection.
func LeaderUnlock(ctx context.Context, db DBTX, key int64) error {
	_, err := db.Exec(ctx, sqlOf("LeaderUnlock"), key)
	return err
}

// The Queue* functions add a statement to a batch, so a flush sends its
// independent statements in one round trip; each result lands in out when
// the batch is read.

// QueueTransitionMetadata queues SetTransitionMetadata.
func QueueTransitionMetadata(b *pgx.Batch, meta []byte) {
	b.Queue("SELECT set_config('tasker.transition_metadata', $1, true)", string(meta))
}

func queueIDs(b *pgx.Batch, out *[]int64, name string, args ...any) {
	b.Queue(sqlOf(name), args...).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
}

// QueueTasksLockForSteps queues TasksLockForSteps.
func QueueTasksLockForSteps(b *pgx.Batch, stepIDs []int64, out *[]LockedTask) {
	b.Queue(sqlOf("TasksLockForSteps"), stepIDs).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (LockedTask, error) {
			var t LockedTask
			err := r.Scan(&t.ID, &t.Status, &t.NamedTaskID)
			return t, err
		})
		return err
	})
}

// QueueStepsLockMany queues StepsLockMany.
func QueueStepsLockMany(b *pgx.Batch, ids []int64, out *[]ReportedStep) {
	b.Queue(sqlOf("StepsLockMany"), ids).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReportedStep, error) {
			var s ReportedStep
			err := r.Scan(&s.ID, &s.TaskID, &s.Name, &s.Status, &s.ClaimToken, &s.Attempts, &s.Retryable, &s.RetryLimit)
			return s, err
		})
		return err
	})
}

// QueueStepsCompleteMany queues StepsCompleteMany.
func QueueStepsCompleteMany(b *pgx.Batch, ids []int64, results []string, out *[]int64) {
	queueIDs(b, out, "StepsCompleteMany", ids, results)
}

// QueueStepsFailMany queues StepsFailMany.
func QueueStepsFailMany(b *pgx.Batch, p *StepsFailManyParams, out map[int64]*time.Time) {
	lastErrors := make([]string, len(p.LastErrors))
	for i, e := range p.LastErrors {
		lastErrors[i] = string(e)
	}
	b.Queue(sqlOf("StepsFailMany"), p.IDs, p.Statuses, p.DelayMS, p.Backoff, lastErrors).Query(func(rows pgx.Rows) error {
		var id int64
		var next *time.Time
		_, err := pgx.ForEachRow(rows, []any{&id, &next}, func() error {
			out[id] = next
			return nil
		})
		return err
	})
}

// QueueStepsReleaseMany queues StepsReleaseMany.
func QueueStepsReleaseMany(b *pgx.Batch, ids []int64, out *[]int64) {
	queueIDs(b, out, "StepsReleaseMany", ids)
}

// QueueStepChildrenReleaseMany queues StepChildrenReleaseMany.
func QueueStepChildrenReleaseMany(b *pgx.Batch, parents []int64, out *[]ReleasedChild) {
	b.Queue(sqlOf("StepChildrenReleaseMany"), parents).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReleasedChild, error) {
			var c ReleasedChild
			err := r.Scan(&c.StepID, &c.TaskID, &c.Ready)
			return c, err
		})
		return err
	})
}

// QueueTaskStepCountsMany queues TaskStepCountsMany.
func QueueTaskStepCountsMany(b *pgx.Batch, taskIDs []int64, out map[int64]StepCounts) {
	b.Queue(sqlOf("TaskStepCountsMany"), taskIDs).Query(func(rows pgx.Rows) error {
		var id int64
		var c StepCounts
		_, err := pgx.ForEachRow(rows, []any{&id, &c.Total, &c.Done, &c.Failed, &c.Active}, func() error {
			out[id] = c
			return nil
		})
		return err
	})
}

// QueueTasksSetStatusMany queues TasksSetStatusMany.
func QueueTasksSetStatusMany(b *pgx.Batch, ids []int64, status tt.TaskState, from []string, out *[]int64) {
	queueIDs(b, out, "TasksSetStatusMany", ids, string(status), from)
}

// QueueStepDispatchByIDs queues StepDispatchByIDs.
func QueueStepDispatchByIDs(b *pgx.Batch, ids []int64, workerID string, leaseMS int64, out *[]int64) {
	queueIDs(b, out, "StepDispatchByIDs", ids, workerID, leaseMS)
}

// QueueStepsReadyNotify queues StepsReadyNotify.
func QueueStepsReadyNotify(b *pgx.Batch, namespace string) {
	b.Queue(sqlOf("StepsReadyNotify"), namespace)
}

// StepsNeedAnalyze reports whether the steps table's statistics lag far
// behind its contents.
func StepsNeedAnalyze(ctx context.Context, db DBTX) (bool, error) {
	var stale bool
	err := db.QueryRow(ctx, sqlOf("StepsNeedAnalyze")).Scan(&stale)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return stale, err
}

// StepsAnalyze refreshes the steps table's statistics. It does not block
// claims or reports.
func StepsAnalyze(ctx context.Context, db DBTX) error {
	_, err := db.Exec(ctx, "ANALYZE tasker_workflow_steps")
	return err
}
