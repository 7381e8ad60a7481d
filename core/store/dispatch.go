package store

import (
	"context"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/store/internal/dbsqlc"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// StepDispatchParams selects and leases ready steps for a dispatcher.
type StepDispatchParams struct {
	Namespaces []string
	// NamedTaskIDs, when set, restricts the claim to tasks of these template
	// versions (Namespaces must then hold their namespaces).
	NamedTaskIDs []int64
	Limit        int
	WorkerID     string
	LeaseMS      int64
}

// QueueStepDispatchReady queues a claim of up to Limit ready steps (of
// Namespaces, or of all namespaces when it is empty) that also starts their
// pending tasks; out receives the claimed steps' ids. The transaction's
// metadata must be set before it.
func QueueStepDispatchReady(b *pgx.Batch, p *StepDispatchParams, out *[]int64) {
	ns := p.Namespaces
	if ns == nil {
		ns = []string{}
	}
	// With a million finished steps the claim's cost estimate crosses the JIT
	// threshold and compiling it takes 5x the query; it never pays off here.
	b.Queue("SELECT set_config('jit', 'off', true)")
	worker := p.WorkerID
	if len(p.Namespaces) == 0 {
		a := dbsqlc.StepDispatchReadyAnyParams{Namespaces: ns, MaxSteps: int32(p.Limit), WorkerID: &worker, LeaseMs: p.LeaseMS}
		queueIDs(b, out, dbsqlc.StepDispatchReadyAny, a.Namespaces, a.MaxSteps, a.WorkerID, a.LeaseMs)
		return
	}
	ids := p.NamedTaskIDs
	if ids == nil {
		ids = []int64{}
	}
	a := dbsqlc.StepDispatchReadyParams{Namespaces: ns, NamedTaskIds: ids, MaxSteps: int32(p.Limit), WorkerID: &worker, LeaseMs: p.LeaseMS}
	queueIDs(b, out, dbsqlc.StepDispatchReady, a.Namespaces, a.NamedTaskIds, a.MaxSteps, a.WorkerID, a.LeaseMs)
}

// QueueStepsClaimedNow queues the read of what executors need to run the
// steps workerID claimed earlier in this transaction with leaseMS, with
// their direct parents' results.
func QueueStepsClaimedNow(b *pgx.Batch, workerID string, leaseMS int64, out *[]tt.ClaimedStep) {
	a := dbsqlc.StepsClaimedNowParams{LeaseMs: leaseMS, WorkerID: &workerID}
	b.Queue(dbsqlc.StepsClaimedNow, a.LeaseMs, a.WorkerID).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (tt.ClaimedStep, error) {
			r, err := pgx.RowToStructByPos[dbsqlc.StepsClaimedNowRow](row)
			if err != nil {
				return tt.ClaimedStep{}, err
			}
			s := tt.ClaimedStep{
				WorkflowStepID:    r.WorkflowStepID,
				TaskID:            r.TaskID,
				Namespace:         r.Namespace,
				TaskName:          r.TaskName,
				TaskVersion:       r.Version,
				StepName:          r.StepName,
				Handler:           r.HandlerName,
				HandlerConfig:     r.HandlerConfig,
				TaskContext:       r.Context,
				Inputs:            r.Inputs,
				DependencyResults: map[string]json.RawMessage{},
				Attempts:          int(r.Attempts),
				RetryLimit:        int(r.RetryLimit),
				Retryable:         r.Retryable,
				ClaimToken:        r.ClaimToken,
				TimeoutSeconds:    int(r.TimeoutSeconds),
			}
			if r.LeaseExpiresAt != nil { // never NULL: the query selects on it
				s.LeaseExpiresAt = *r.LeaseExpiresAt
			}
			return s, json.Unmarshal(r.Parents, &s.DependencyResults)
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
	return queries.StepsHeartbeatMany(ctx, db, dbsqlc.StepsHeartbeatManyParams{
		LeaseMs: float64(leaseMS), StepIds: ids, ClaimTokens: tokens,
	})
}

// StepsReadyNotify wakes the producers listening for namespace's steps; the
// notification is sent when the transaction commits.
func StepsReadyNotify(ctx context.Context, db DBTX, namespace string) error {
	return queries.StepsReadyNotify(ctx, db, namespace)
}

// LeaderTryLock takes the advisory lock key for the rest of transaction tx
// without waiting; false means another transaction holds it.
func LeaderTryLock(ctx context.Context, tx DBTX, key int64) (bool, error) {
	return queries.LeaderTryLock(ctx, tx, key)
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
	b.Queue(dbsqlc.StepsLockMany, ids).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ReportedStep, error) {
			r, err := pgx.RowToStructByPos[dbsqlc.StepsLockManyRow](row)
			return ReportedStep{
				ID: r.WorkflowStepID, TaskID: r.TaskID, Name: r.Name, Status: tt.StepState(r.Status),
				ClaimToken: r.ClaimToken, Attempts: int(r.Attempts), Retryable: r.Retryable, RetryLimit: int(r.RetryLimit),
			}, err
		})
		return err
	})
}

// QueueStepsCompleteMany queues StepsCompleteMany.
func QueueStepsCompleteMany(b *pgx.Batch, ids []int64, results []string, out *[]int64) {
	p := dbsqlc.StepsCompleteManyParams{StepIds: ids, Results: results}
	queueIDs(b, out, dbsqlc.StepsCompleteMany, p.StepIds, p.Results)
}

// QueueStepsFailMany queues StepsFailMany.
func QueueStepsFailMany(b *pgx.Batch, p *StepsFailManyParams, out map[int64]*time.Time) {
	// A float8[] cannot carry NULL to Go: a step without a requested backoff
	// has has_backoff false (its backoff, 0, is ignored), as 0 is a valid one.
	backoffs := make([]float64, len(p.Backoff))
	has := make([]bool, len(p.Backoff))
	for i, bo := range p.Backoff {
		if bo != nil {
			backoffs[i], has[i] = *bo, true
		}
	}
	// jsonb[] elements go as text, as before.
	lastErrors := make([]string, len(p.LastErrors))
	for i, e := range p.LastErrors {
		lastErrors[i] = string(e)
	}
	a := dbsqlc.StepsFailManyParams{StepIds: p.IDs, Statuses: p.Statuses, DelayMs: p.DelayMS, Backoffs: backoffs, HasBackoff: has}
	b.Queue(dbsqlc.StepsFailMany, a.StepIds, a.Statuses, a.DelayMs, a.Backoffs, a.HasBackoff, lastErrors).Query(func(rows pgx.Rows) error {
		failed, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dbsqlc.StepsFailManyRow])
		for _, f := range failed {
			out[f.WorkflowStepID] = f.NextRetryAt
		}
		return err
	})
}

// QueueStepsReleaseMany queues StepsReleaseMany.
func QueueStepsReleaseMany(b *pgx.Batch, ids []int64, out *[]int64) {
	queueIDs(b, out, dbsqlc.StepsReleaseMany, ids)
}

// QueueStepChildrenReleaseMany queues StepChildrenReleaseMany.
func QueueStepChildrenReleaseMany(b *pgx.Batch, parents []int64, out *[]ReleasedChild) {
	b.Queue(dbsqlc.StepChildrenReleaseMany, parents).Query(func(rows pgx.Rows) error {
		var err error
		*out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ReleasedChild, error) {
			r, err := pgx.RowToStructByPos[dbsqlc.StepChildrenReleaseManyRow](row)
			return ReleasedChild{StepID: r.WorkflowStepID, TaskID: r.TaskID, Ready: r.Ready}, err
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
	p := dbsqlc.StepDispatchByIDsParams{WorkerID: &workerID, LeaseMs: leaseMS, StepIds: ids}
	queueIDs(b, out, dbsqlc.StepDispatchByIDs, p.WorkerID, p.LeaseMs, p.StepIds)
}

// QueueStepsReadyNotify queues StepsReadyNotify.
func QueueStepsReadyNotify(b *pgx.Batch, namespace string) {
	b.Queue(dbsqlc.StepsReadyNotify, namespace)
}

// StepsNeedAnalyze reports whether the steps table's statistics lag far
// behind its contents.
func StepsNeedAnalyze(ctx context.Context, db DBTX) (bool, error) {
	return queries.StepsNeedAnalyze(ctx, db)
}

// StepsAnalyze refreshes the steps table's statistics. It does not block
// claims or reports.
func StepsAnalyze(ctx context.Context, db DBTX) error {
	_, err := db.Exec(ctx, "ANALYZE tasker_workflow_steps")
	return err
}
