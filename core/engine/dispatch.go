package engine

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/statemachine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// The dispatcher's half of the engine (core/dispatcher runs the goroutines):
// a claim for executors waiting now, a set-based flush of many reports with
// the local handoff of the children it makes ready, heartbeats for many
// steps, and lease rescue under a leader lock.

// DispatchClaimParams asks for up to Limit ready steps for one worker.
type DispatchClaimParams struct {
	Namespaces []string
	// NamedTaskIDs, when set, restricts the claim to these template versions
	// (TemplateIDs); Namespaces must hold their namespaces.
	NamedTaskIDs []int64
	Limit        int
	WorkerID     string
	Lease        time.Duration
}

// DispatchClaim leases up to p.Limit ready steps to a worker and returns what
// its executors need to run them. Each claimed step counts an attempt: the
// dispatcher claims only for executors already waiting, so a claim is the
// start of its attempts. It never recovers leases (the maintenance loop
// does) and never waits for a lock.
func (e *Engine) DispatchClaim(ctx context.Context, p *DispatchClaimParams) ([]tt.ClaimedStep, error) {
	// One round trip, one implicit transaction: the metadata, the claim and
	// the read of what was claimed.
	var ids []int64
	var steps []tt.ClaimedStep
	b := &pgx.Batch{}
	queueMeta(b, statemachine.EventExecutionRequested, map[string]any{"worker_id": p.WorkerID})
	store.QueueStepDispatchReady(b, &store.StepDispatchParams{
		Namespaces: p.Namespaces, NamedTaskIDs: p.NamedTaskIDs, Limit: p.Limit, WorkerID: p.WorkerID,
		LeaseMS: p.Lease.Milliseconds(),
	}, &ids)
	store.QueueStepsClaimedNow(b, p.WorkerID, p.Lease.Milliseconds(), &steps)
	if err := e.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, store.InterpretError("dispatch_claim", err)
	}
	if len(steps) != len(ids) {
		return nil, fmt.Errorf("dispatch_claim: claimed %d steps but read %d back", len(ids), len(steps))
	}
	return steps, nil
}

// ReportKind says what a Report records.
type ReportKind int

// The kinds of report.
const (
	ReportComplete ReportKind = iota + 1
	ReportFail
	ReportRelease
)

// Report is one executor's report on a claimed step.
type Report struct {
	Kind       ReportKind
	StepID     int64
	ClaimToken string
	// Results of a completion, valid JSON stored byte for byte.
	Results json.RawMessage
	// Failure of a failed attempt.
	Failure *tt.FailParams
	// Reason a step is released.
	Reason string
}

// ValidateReport checks a report before it is queued, so one bad report
// never fails a flush of many (CompleteStep, FailStep and ReleaseStep check
// theirs with it too). An empty completion's results become JSON null.
func ValidateReport(r *Report) error {
	switch r.Kind {
	case ReportComplete:
		if err := validateStepClaim("complete_step", r.StepID, r.ClaimToken); err != nil {
			return err
		}
		if len(bytes.TrimSpace(r.Results)) == 0 {
			r.Results = json.RawMessage("null")
		} else if !json.Valid(r.Results) {
			return tt.NewValidationError("complete_step", "results", "must be valid JSON")
		}
	case ReportFail:
		if err := validateStepClaim("fail_step", r.StepID, r.ClaimToken); err != nil {
			return err
		}
		if r.Failure == nil {
			return tt.NewValidationError("fail_step", "error", "is required")
		}
		if b := r.Failure.BackoffSeconds; b != nil && (*b < 0 || *b != *b) {
			return tt.NewValidationError("fail_step", "backoff_seconds", "must be >= 0, got %v", *b)
		}
	case ReportRelease:
		return validateStepClaim("release_step", r.StepID, r.ClaimToken)
	default:
		return tt.NewValidationError("report", "kind", "unknown report kind %d", r.Kind)
	}
	return nil
}

// HandoffParams lets a flush claim steps for up to Limit executors of
// WorkerID: first the children it makes ready, then any ready step of
// Namespaces (all when empty) and NamedTaskIDs (all when empty).
type HandoffParams struct {
	WorkerID     string
	Namespaces   []string
	NamedTaskIDs []int64
	Limit        int
	Lease        time.Duration
}

// ReportOutcome is what became of one report: its result, or why it was
// refused (StaleClaimError, NotFoundError, InvalidTransitionError).
type ReportOutcome struct {
	Result *tt.StepResult
	Err    error
}

// ReportBatchResult holds one outcome per report, in order, and the steps
// handed off to the flushing worker.
type ReportBatchResult struct {
	Outcomes []ReportOutcome
	Handoff  []tt.ClaimedStep
}

// ReportBatch records many validated reports (at most one per step) in one
// transaction: it locks their tasks in id order, then their steps, refuses
// reports whose claim no longer holds, applies the rest with one statement
// per kind, releases the children of completed steps, finalizes every
// touched task, and claims newly ready children for the handoff. An error
// means nothing was recorded; the caller may retry the whole batch.
func (e *Engine) ReportBatch(ctx context.Context, reports []Report, handoff *HandoffParams) (*ReportBatchResult, error) {
	var res *ReportBatchResult
	err := store.InTx(ctx, e.pool, "report_batch", func(tx pgx.Tx) error {
		var err error
		res, err = e.reportBatch(ctx, tx, reports, handoff)
		return err
	})
	if err == nil {
		e.logReports(ctx, reports, res)
	}
	return res, err
}

// logReports logs each recorded report: failed attempts at info (with the
// error's class), the rest at debug.
func (e *Engine) logReports(ctx context.Context, reports []Report, res *ReportBatchResult) {
	log := e.cfg.Logger
	debug := log.Enabled(ctx, slog.LevelDebug)
	if !debug && !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	for i, o := range res.Outcomes {
		switch {
		case o.Err != nil:
			if debug {
				log.Debug("tasker engine: report refused", "step_id", reports[i].StepID, "error", o.Err)
			}
		case reports[i].Kind == ReportFail:
			log.Info("tasker engine: step attempt failed", "task_id", o.Result.TaskID, "step_id", o.Result.WorkflowStepID,
				"step", o.Result.StepName, "attempts", o.Result.Attempts, "status", o.Result.Status,
				"error_class", reports[i].Failure.Error.Class)
		case debug:
			log.Debug("tasker engine: step reported", "task_id", o.Result.TaskID, "step_id", o.Result.WorkflowStepID,
				"step", o.Result.StepName, "attempts", o.Result.Attempts, "status", o.Result.Status)
		}
	}
}

func (e *Engine) reportBatch(ctx context.Context, tx pgx.Tx, reports []Report, handoff *HandoffParams) (*ReportBatchResult, error) {
	res := &ReportBatchResult{Outcomes: make([]ReportOutcome, len(reports))}
	ids := make([]int64, len(reports))
	for i := range reports {
		ids[i] = reports[i].StepID
	}
	// Round trip 1: lock the tasks (in id order), then the steps.
	var tasks []store.LockedTask
	var locked []store.ReportedStep
	b := &pgx.Batch{}
	store.QueueTasksLockForSteps(b, ids, &tasks)
	store.QueueStepsLockMany(b, ids, &locked)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	steps := make(map[int64]*store.ReportedStep, len(locked))
	for i := range locked {
		steps[locked[i].ID] = &locked[i]
	}

	var completeIDs, releaseIDs []int64
	var completeResults []string
	fail := &store.StepsFailManyParams{}
	touched := map[int64]bool{}
	for i := range reports {
		r := &reports[i]
		s := steps[r.StepID]
		switch {
		case s == nil:
			res.Outcomes[i].Err = &tt.NotFoundError{Kind: "step", Key: strconv.FormatInt(r.StepID, 10)}
			continue
		case s.ClaimToken != r.ClaimToken || s.Status != tt.StepInProgress:
			res.Outcomes[i].Err = &tt.StaleClaimError{StepID: s.ID, Status: s.Status}
			continue
		}
		touched[s.TaskID] = true
		out := &tt.StepResult{WorkflowStepID: s.ID, TaskID: s.TaskID, StepName: s.Name, Attempts: s.Attempts}
		res.Outcomes[i].Result = out
		switch r.Kind {
		case ReportComplete:
			out.Status = tt.StepComplete
			completeIDs = append(completeIDs, s.ID)
			completeResults = append(completeResults, string(r.Results))
		case ReportFail:
			f := r.Failure
			next, lastError, err := failedAttempt(f, s.Attempts, s.Retryable, s.RetryLimit)
			if err != nil {
				return nil, err
			}
			out.Status = next
			fail.IDs = append(fail.IDs, s.ID)
			fail.Statuses = append(fail.Statuses, string(next))
			fail.DelayMS = append(fail.DelayMS, e.cfg.Backoff.Delay(s.Attempts, f.BackoffSeconds).Milliseconds())
			fail.Backoff = append(fail.Backoff, f.BackoffSeconds)
			fail.LastErrors = append(fail.LastErrors, lastError)
		case ReportRelease:
			out.Status, out.Attempts = tt.StepPending, max(s.Attempts-1, 0)
			releaseIDs = append(releaseIDs, s.ID)
		}
	}
	status := map[int64]tt.TaskState{}
	var taskIDs, pending []int64
	for _, t := range tasks {
		if touched[t.ID] {
			status[t.ID] = t.Status
			taskIDs = append(taskIDs, t.ID)
			if t.Status == tt.TaskPending {
				pending = append(pending, t.ID)
			}
		}
	}
	if len(taskIDs) == 0 {
		return res, nil
	}

	// Round trip 2: the steps' new states, their children, the tasks that
	// were never started, and what each task's steps can still do.
	var completed, released, started []int64
	var children []store.ReleasedChild
	next := map[int64]*time.Time{}
	counts := map[int64]store.StepCounts{}
	b = &pgx.Batch{}
	if len(completeIDs) > 0 {
		queueMeta(b, statemachine.EventCompleted, nil)
		store.QueueStepsCompleteMany(b, completeIDs, completeResults, &completed)
	}
	if len(fail.IDs) > 0 {
		queueMeta(b, statemachine.EventFailed, nil)
		store.QueueStepsFailMany(b, fail, next)
	}
	if len(releaseIDs) > 0 {
		queueMeta(b, statemachine.EventReleased, map[string]any{"reason": reports[0].Reason})
		store.QueueStepsReleaseMany(b, releaseIDs, &released)
	}
	if len(completeIDs) > 0 {
		store.QueueStepChildrenReleaseMany(b, completeIDs, &children)
	}
	if len(pending) > 0 {
		queueMeta(b, statemachine.EventStartRequested, nil)
		store.QueueTasksSetStatusMany(b, pending, tt.TaskInProgress, statemachine.TaskSources(statemachine.EventStartRequested), &started)
	}
	store.QueueTaskStepCountsMany(b, taskIDs, counts)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	switch {
	case len(completed) != len(completeIDs):
		return nil, &tt.InvalidTransitionError{Entity: "step", ID: completeIDs[0], From: string(tt.StepInProgress), To: string(tt.StepComplete)}
	case len(next) != len(fail.IDs):
		return nil, &tt.InvalidTransitionError{Entity: "step", ID: fail.IDs[0], From: string(tt.StepInProgress), To: fail.Statuses[0]}
	case len(released) != len(releaseIDs):
		return nil, &tt.InvalidTransitionError{Entity: "step", ID: releaseIDs[0], From: string(tt.StepInProgress), To: string(tt.StepPending)}
	}
	if err := movedAll(pending, started, statemachine.EventStartRequested, tt.TaskInProgress, status); err != nil {
		return nil, err
	}

	// Finalize: one statement per target state; a task in error whose steps
	// can run again (an operator retried one meanwhile) goes through
	// finalize on its own.
	var toComplete, toError []int64
	for _, id := range taskIDs {
		c := counts[id]
		switch st := status[id]; {
		case st == tt.TaskInProgress && c.Total > 0 && c.Done == c.Total:
			toComplete = append(toComplete, id)
		case st == tt.TaskInProgress && c.Active == 0 && c.Failed > 0:
			toError = append(toError, id)
		case st == tt.TaskError:
			lt := store.LockedTask{ID: id, Status: st}
			var err error
			if status[id], err = e.finalize(ctx, tx, &lt); err != nil {
				return nil, err
			}
		}
	}
	var ready []store.ReleasedChild
	for _, c := range children {
		if c.Ready {
			ready = append(ready, c)
		}
	}
	n := 0
	if handoff != nil {
		n = min(handoff.Limit, len(ready))
	}

	// Round trip 3: the tasks' new states, the handoff claim (children first,
	// then any ready step, so executors that just reported need no claim of
	// their own) with what it claimed, and a wake-up for other workers when
	// ready children are left.
	var completedTasks, failedTasks, claimed, claimedReady []int64
	b = &pgx.Batch{}
	if len(toComplete) > 0 {
		queueMeta(b, statemachine.EventCompleted, nil)
		store.QueueTasksSetStatusMany(b, toComplete, tt.TaskComplete, statemachine.TaskSources(statemachine.EventCompleted), &completedTasks)
	}
	if len(toError) > 0 {
		queueMeta(b, statemachine.EventFailed, nil)
		store.QueueTasksSetStatusMany(b, toError, tt.TaskError, statemachine.TaskSources(statemachine.EventFailed), &failedTasks)
	}
	if handoff != nil && handoff.Limit > 0 {
		queueMeta(b, statemachine.EventExecutionRequested, map[string]any{"worker_id": handoff.WorkerID, "handoff": true})
		if n > 0 {
			handIDs := make([]int64, n)
			for i := range n {
				handIDs[i] = ready[i].StepID
			}
			store.QueueStepDispatchByIDs(b, handIDs, handoff.WorkerID, handoff.Lease.Milliseconds(), &claimed)
		}
		if rest := handoff.Limit - n; rest > 0 {
			store.QueueStepDispatchReady(b, &store.StepDispatchParams{Namespaces: handoff.Namespaces,
				NamedTaskIDs: handoff.NamedTaskIDs, Limit: rest,
				WorkerID: handoff.WorkerID, LeaseMS: handoff.Lease.Milliseconds()}, &claimedReady)
		}
		store.QueueStepsClaimedNow(b, handoff.WorkerID, handoff.Lease.Milliseconds(), &res.Handoff)
	}
	if n < len(ready) {
		store.QueueStepsReadyNotify(b, "")
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return nil, err
		}
	}
	if err := movedAll(toComplete, completedTasks, statemachine.EventCompleted, tt.TaskComplete, status); err != nil {
		return nil, err
	}
	if err := movedAll(toError, failedTasks, statemachine.EventFailed, tt.TaskError, status); err != nil {
		return nil, err
	}
	for i := range res.Outcomes {
		if r := res.Outcomes[i].Result; r != nil {
			r.TaskStatus = status[r.TaskID]
			if reports[i].Kind == ReportFail {
				r.NextRetryAt = next[r.WorkflowStepID]
			}
		}
	}
	if len(res.Handoff) != len(claimed)+len(claimedReady) {
		return nil, fmt.Errorf("report_batch: handed off %d steps but read %d back", len(claimed)+len(claimedReady), len(res.Handoff))
	}
	return res, nil
}

// movedAll checks that a set-based task update moved every task it meant to
// (a task that did not move is the state machine's refusal) and records the
// new state.
func movedAll(want, moved []int64, ev statemachine.Event, to tt.TaskState, status map[int64]tt.TaskState) error {
	if len(moved) != len(want) {
		got := map[int64]bool{}
		for _, id := range moved {
			got[id] = true
		}
		for _, id := range want {
			if !got[id] {
				return statemachine.CheckTask(id, ev, status[id], to)
			}
		}
	}
	for _, id := range want {
		status[id] = to
	}
	return nil
}

func queueMeta(b *pgx.Batch, ev statemachine.Event, extra map[string]any) {
	raw, err := json.Marshal(transitionMeta(ev, extra))
	if err != nil {
		panic(err) // maps of strings and bools always marshal
	}
	store.QueueTransitionMetadata(b, raw)
}

// HeartbeatMany extends the leases of running steps and returns the ids
// still held by their tokens.
func (e *Engine) HeartbeatMany(ctx context.Context, ids []int64, tokens []string, lease time.Duration) ([]int64, error) {
	held, err := store.StepsHeartbeatMany(ctx, e.pool, ids, tokens, lease.Milliseconds())
	return held, store.InterpretError("heartbeat", err)
}

// rescueLockKey is the advisory lock of the lease-rescue leader.
const rescueLockKey = 0x7461736b6572 + 1

// RescueExpiredLeases recovers expired leases (see RecoverExpiredLeases)
// when no other process is doing it right now, then analyzes the steps table
// when its statistics lag far behind; leader is false when another process
// held the lock.
//
// The leader lock is a transaction advisory lock held by a transaction that
// stays open for the round (the recovery runs in transactions of its own):
// it ends with that transaction or its connection, never outlives the round,
// and holds even when a pooler in transaction mode shares the connection.
func (e *Engine) RescueExpiredLeases(ctx context.Context) (n int, leader bool, err error) {
	lock, err := e.pool.Begin(ctx)
	if err != nil {
		return 0, false, store.InterpretError("rescue_leases", err)
	}
	defer func() { _ = lock.Rollback(context.WithoutCancel(ctx)) }()
	ok, err := store.LeaderTryLock(ctx, lock, rescueLockKey)
	if err != nil || !ok {
		return 0, false, store.InterpretError("rescue_leases", err)
	}
	n, err = e.RecoverExpiredLeases(ctx)
	if err != nil {
		return n, true, err
	}
	if n > 0 {
		e.cfg.Logger.Info("tasker engine: recovered expired leases (their workers stopped heartbeating)", "steps", n)
	}
	// The leader also keeps the planner's view of the steps table fresh.
	stale, err := store.StepsNeedAnalyze(ctx, lock)
	if err == nil && stale {
		err = store.StepsAnalyze(ctx, lock)
	}
	if err == nil {
		err = lock.Commit(ctx)
	}
	return n, true, store.InterpretError("analyze_steps", err)
}
