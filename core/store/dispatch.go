package store

import (
	"context"
	"errors"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/store/internal/dbsqlc"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// StepDispatchParams selects and leases ready steps for a dispatcher.
type StepDispatchParams struct {
	Namespaces []string
	Limit      int
	WorkerID   string
	LeaseMS    int64
}

// QueueStepDispatchReady queues a claim of up to Limit ready steps (of
// Namespaces, or of all namespaces when it is empty) that also starts their
// pending tasks; out receives the claimed steps' ids. The transaction's
// metadata must be set before it.
func QueueStepDispatchReady(b *pgx.Batch, p *StepDispatchParams, out *[]int64) {
	name := "StepDispatchReady"
	if len(p.Namespaces) == 0 {
		name = "StepDispatchReadyAny"
	}
	ns := p.Namespaces
	if ns == nil {
		ns = []string{}
	}
	// With a million finished steps the claim's cost estimate crosses the JIT
	// threshold and compiling it takes 5x the query; it never pays off here.
	b.Queue("SELECT set_config('jit', 'off', true)")
	queueIDs(b, out, sqlOf(name), ns, p.Limit, p.WorkerID, p.LeaseMS)
}

// QueueStepsClaimedNow queues the read of what executors need to run the
// steps workerID claimed earlier in this transaction with leaseMS, with
// their direct parents' results.
func QueueStepsClaimedNow(b *pgx.Batch, workerID string, leaseMS int64, out *[]tt.ClaimedStep) {
	b.Queue(sqlOf("StepsClaimedNow"), workerID, leaseMS).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (tt.ClaimedStep, error) {
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
		return err
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

// StepsFailManyParams are failed attempts, one entry per step.
type StepsFailManyParams struct {
	IDs        []int64
	Statuses   []string
	DelayMS    []int64
	Backoff    []*float64
	LastErrors [][]byte
}

// ReleasedChild is a child of a finished parent.
type ReleasedChild struct {
	StepID int64
	TaskID int64
	Ready  bool
}

// StepsHeartbeatMany extends leases and returns the steps still held.
func StepsHeartbeatMany(ctx context.Context, db DBTX, ids []int64, tokens []string, leaseMS int64) ([]int64, error) {
	rows, err := db.Query(ctx, sqlOf("StepsHeartbeatMany"), ids, tokens, leaseMS)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// StepsReadyNotify wakes the producers listening for namespace's steps; the
// notification is sent when the transaction commits.
func StepsReadyNotify(ctx context.Context, db DBTX, namespace string) error {
	return queries.StepsReadyNotify(ctx, db, namespace)
}

// LeaderTryLock takes the session advisory lock key on conn without waiting.
func LeaderTryLock(ctx context.Context, db DBTX, key int64) (bool, error) {
	return queries.LeaderTryLock(ctx, db, key)
}

// LeaderUnlock releases a lock LeaderTryLock took on the same connection.
func LeaderUnlock(ctx context.Context, db DBTX, key int64) error {
	return queries.LeaderUnlock(ctx, db, key)
}

// The Queue* functions add a statement to a batch, so a flush sends its
// independent statements in one round trip; each result lands in out when
// the batch is read.

// QueueTransitionMetadata queues SetTransitionMetadata.
func QueueTransitionMetadata(b *pgx.Batch, meta []byte) {
	b.Queue("SELECT set_config('tasker.transition_metadata', $1, true)", string(meta))
}

// queueIDs queues sql (one of dbsqlc's statements that return ids, its
// arguments in the order of the generated method's).
func queueIDs(b *pgx.Batch, out *[]int64, sql string, args ...any) {
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
}

// QueueTasksLockForSteps queues TasksLockForSteps.
func QueueTasksLockForSteps(b *pgx.Batch, stepIDs []int64, out *[]LockedTask) {
	b.Queue(dbsqlc.TasksLockForSteps, stepIDs).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (LockedTask, error) {
			r, err := pgx.RowToStructByPos[dbsqlc.TasksLockForStepsRow](row)
			return LockedTask{ID: r.TaskID, Status: tt.TaskState(r.Status), NamedTaskID: r.NamedTaskID}, err
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
	queueIDs(b, out, sqlOf("StepsCompleteMany"), ids, results)
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
	queueIDs(b, out, sqlOf("StepsReleaseMany"), ids)
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
	b.Queue(dbsqlc.TaskStepCountsMany, taskIDs).Query(func(rows pgx.Rows) error {
		counts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dbsqlc.TaskStepCountsManyRow])
		for _, c := range counts {
			out[c.TaskID] = StepCounts{Total: int(c.Total), Done: int(c.Done), Failed: int(c.Failed), Active: int(c.Active)}
		}
		return err
	})
}

// QueueTasksSetStatusMany queues TasksSetStatusMany.
func QueueTasksSetStatusMany(b *pgx.Batch, ids []int64, status tt.TaskState, from []string, out *[]int64) {
	p := dbsqlc.TasksSetStatusManyParams{Status: string(status), TaskIds: ids, FromStatuses: from}
	queueIDs(b, out, dbsqlc.TasksSetStatusMany, p.Status, p.TaskIds, p.FromStatuses)
}

// QueueStepDispatchByIDs queues StepDispatchByIDs.
func QueueStepDispatchByIDs(b *pgx.Batch, ids []int64, workerID string, leaseMS int64, out *[]int64) {
	queueIDs(b, out, sqlOf("StepDispatchByIDs"), ids, workerID, leaseMS)
}

// QueueStepsReadyNotify queues StepsReadyNotify.
func QueueStepsReadyNotify(b *pgx.Batch, namespace string) {
	b.Queue(dbsqlc.StepsReadyNotify, namespace)
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
