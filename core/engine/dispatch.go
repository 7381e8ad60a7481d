package engine

import (
	"bytes"
	"context"
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
	Limit      int
	WorkerID   string
	Lease      time.Duration
}

// DispatchClaim leases up to p.Limit ready steps to a worker and returns what
// its executors need to run them. Each claimed step counts an attempt: the
// dispatcher claims only for executors already waiting, so a claim is the
// start of its attempts. It never recovers leases (the maintenance loop
// does) and never waits for a lock.
func (e *Engine) DispatchClaim(ctx context.Context, p *DispatchClaimParams) ([]tt.ClaimedStep, error) {
	meta, err := json.Marshal(map[string]any{"event": "execution_requested", "worker_id": p.WorkerID})
	if err != nil {
		return nil, err
	}
	var steps []tt.ClaimedStep
	err = store.InTx(ctx, e.pool, "dispatch_claim", func(tx pgx.Tx) error {
		steps = nil
		ids, err := store.StepDispatchReady(ctx, tx, meta, &store.StepDispatchParams{
			Namespaces: p.Namespaces, Limit: p.Limit, WorkerID: p.WorkerID, LeaseMS: p.Lease.Milliseconds(),
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		steps, err = store.StepsPayload(ctx, tx, ids)
		return err
	})
	return steps, err
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
// never fails a flush of many.
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

// HandoffParams lets a flush claim the children it makes ready for up to
// Limit executors of WorkerID waiting now.
type HandoffParams struct {
	WorkerID string
	Limit    int
	Lease    time.Duration
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
	return res, err
}

func (e *Engine) reportBatch(ctx context.Context, tx pgx.Tx, reports []Report, handoff *HandoffParams) (*ReportBatchResult, error) {
	res := &ReportBatchResult{Outcomes: make([]ReportOutcome, len(reports))}
	ids := make([]int64, len(reports))
	for i := range reports {
		ids[i] = reports[i].StepID
	}
	tasks, err := store.TasksLockForSteps(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	locked, err := store.StepsLockMany(ctx, tx, ids)
	if err != nil {
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
			res.Outcomes[i].Err = &tt.NotFoundError{Kind: "step", Key: itoa(r.StepID)}
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
			next := tt.StepError
			if !f.Permanent && s.Retryable && s.Attempts < s.RetryLimit {
				next = tt.StepWaitingForRetry
			}
			lastError, err := json.Marshal(map[string]any{
				"class": f.Error.Class, "message": f.Error.Message, "backtrace": f.Error.Backtrace,
				"attempt": s.Attempts, "permanent": f.Permanent,
			})
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

	if len(completeIDs) > 0 {
		if err := setMeta(ctx, tx, map[string]any{"event": "completed"}); err != nil {
			return nil, err
		}
		done, err := store.StepsCompleteMany(ctx, tx, completeIDs, completeResults)
		if err != nil {
			return nil, err
		}
		if len(done) != len(completeIDs) {
			return nil, &tt.InvalidTransitionError{Entity: "step", ID: completeIDs[0], From: string(tt.StepInProgress), To: string(tt.StepComplete)}
		}
	}
	if len(fail.IDs) > 0 {
		if err := setMeta(ctx, tx, map[string]any{"event": "failed"}); err != nil {
			return nil, err
		}
		next, err := store.StepsFailMany(ctx, tx, fail)
		if err != nil {
			return nil, err
		}
		if len(next) != len(fail.IDs) {
			return nil, &tt.InvalidTransitionError{Entity: "step", ID: fail.IDs[0], From: string(tt.StepInProgress), To: fail.Statuses[0]}
		}
		for i := range res.Outcomes {
			if r := res.Outcomes[i].Result; r != nil && reports[i].Kind == ReportFail {
				r.NextRetryAt = next[r.WorkflowStepID]
			}
		}
	}
	if len(releaseIDs) > 0 {
		if err := setMeta(ctx, tx, map[string]any{"event": "released", "reason": reports[0].Reason}); err != nil {
			return nil, err
		}
		if _, err := store.StepsReleaseMany(ctx, tx, releaseIDs); err != nil {
			return nil, err
		}
	}

	var ready []store.ReleasedChild
	if len(completeIDs) > 0 {
		children, err := store.StepChildrenReleaseMany(ctx, tx, completeIDs)
		if err != nil {
			return nil, err
		}
		for _, c := range children {
			if c.Ready {
				ready = append(ready, c)
			}
		}
	}

	taskStatus, err := e.finalizeMany(ctx, tx, tasks, touched)
	if err != nil {
		return nil, err
	}
	for i := range res.Outcomes {
		if r := res.Outcomes[i].Result; r != nil {
			r.TaskStatus = taskStatus[r.TaskID]
		}
	}

	res.Handoff, err = e.handoff(ctx, tx, ready, handoff)
	return res, err
}

// finalizeMany is finalize for every touched task: tasks still pending are
// started, running tasks move to complete or error with one statement per
// target state, and the rare rest (a task in error whose step was retried
// meanwhile) goes through finalize one by one.
func (e *Engine) finalizeMany(ctx context.Context, tx pgx.Tx, tasks []store.LockedTask, touched map[int64]bool) (map[int64]tt.TaskState, error) {
	status := map[int64]tt.TaskState{}
	var pending, ids []int64
	for _, t := range tasks {
		if !touched[t.ID] {
			continue
		}
		status[t.ID] = t.Status
		ids = append(ids, t.ID)
		if t.Status == tt.TaskPending {
			pending = append(pending, t.ID)
		}
	}
	if len(ids) == 0 {
		return status, nil
	}
	if len(pending) > 0 {
		if err := e.setTasks(ctx, tx, pending, tt.TaskInProgress, status); err != nil {
			return nil, err
		}
	}
	counts, err := store.TaskStepCountsMany(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	var toComplete, toError []int64
	for _, t := range tasks {
		if !touched[t.ID] {
			continue
		}
		c := counts[t.ID]
		switch st := status[t.ID]; {
		case st == tt.TaskInProgress && c.Total > 0 && c.Done == c.Total:
			toComplete = append(toComplete, t.ID)
		case st == tt.TaskInProgress && c.Active == 0 && c.Failed > 0:
			toError = append(toError, t.ID)
		case st == tt.TaskError:
			lt := store.LockedTask{ID: t.ID, Status: st, NamedTaskID: t.NamedTaskID}
			if status[t.ID], err = e.finalize(ctx, tx, &lt); err != nil {
				return nil, err
			}
		}
	}
	if err := e.setTasks(ctx, tx, toComplete, tt.TaskComplete, status); err != nil {
		return nil, err
	}
	return status, e.setTasks(ctx, tx, toError, tt.TaskError, status)
}

// setTasks moves tasks to a state; a task that does not move is the state
// machine's refusal.
func (e *Engine) setTasks(ctx context.Context, tx pgx.Tx, ids []int64, to tt.TaskState, status map[int64]tt.TaskState) error {
	if len(ids) == 0 {
		return nil
	}
	if err := setMeta(ctx, tx, map[string]any{"event": taskEvent(to)}); err != nil {
		return err
	}
	moved, err := store.TasksSetStatusMany(ctx, tx, ids, to, statemachine.TaskSources(to))
	if err != nil {
		return err
	}
	if len(moved) != len(ids) {
		got := map[int64]bool{}
		for _, id := range moved {
			got[id] = true
		}
		for _, id := range ids {
			if !got[id] {
				return statemachine.CheckTask(id, status[id], to)
			}
		}
	}
	for _, id := range ids {
		status[id] = to
	}
	return nil
}

// handoff claims up to p.Limit of the children a flush made ready for the
// flushing worker, and wakes other workers for the rest.
func (e *Engine) handoff(ctx context.Context, tx pgx.Tx, ready []store.ReleasedChild, p *HandoffParams) ([]tt.ClaimedStep, error) {
	if len(ready) == 0 {
		return nil, nil
	}
	n := 0
	if p != nil {
		n = min(p.Limit, len(ready))
	}
	var steps []tt.ClaimedStep
	if n > 0 {
		ids := make([]int64, n)
		for i := range n {
			ids[i] = ready[i].StepID
		}
		if err := setMeta(ctx, tx, map[string]any{"event": "execution_requested", "worker_id": p.WorkerID, "handoff": true}); err != nil {
			return nil, err
		}
		claimed, err := store.StepDispatchByIDs(ctx, tx, ids, p.WorkerID, p.Lease.Milliseconds())
		if err != nil {
			return nil, err
		}
		if len(claimed) > 0 {
			if steps, err = store.StepsPayload(ctx, tx, claimed); err != nil {
				return nil, err
			}
		}
	}
	if n < len(ready) {
		if err := store.StepsReadyNotify(ctx, tx, ""); err != nil {
			return nil, err
		}
	}
	return steps, nil
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
// when no other process is doing it right now; leader is false when another
// process held the lock.
func (e *Engine) RescueExpiredLeases(ctx context.Context) (n int, leader bool, err error) {
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return 0, false, store.InterpretError("rescue_leases", err)
	}
	defer conn.Release()
	ok, err := store.LeaderTryLock(ctx, conn, rescueLockKey)
	if err != nil || !ok {
		return 0, false, store.InterpretError("rescue_leases", err)
	}
	defer func() {
		// A lock that cannot be released dies with its connection.
		if uerr := store.LeaderUnlock(context.WithoutCancel(ctx), conn, rescueLockKey); uerr != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	n, err = e.RecoverExpiredLeases(ctx)
	return n, true, err
}
