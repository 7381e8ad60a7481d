package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Stuck work: steps in progress past their lease or timeout, and unfinished
// tasks with nothing runnable. StuckWork finds them on demand (the CLI, the
// dashboard); the dispatcher's maintenance leader calls RecordStuckWork, which
// also keeps tasker_stuck_work (migration 009) holding its latest findings,
// so metrics read a count and every finding has a first_seen_at.

// defaultStuckStepTimeout is the timeout of steps whose template sets none,
// the dispatcher's own default.
const defaultStuckStepTimeout = 5 * time.Minute

// StuckWork finds what is stuck now, with when the maintenance leader first
// recorded each finding (nil when it has not).
func (e *Engine) StuckWork(ctx context.Context, p *tt.StuckParams) (*tt.StuckReport, error) {
	p, err := validateStuck(p)
	if err != nil {
		return nil, err
	}
	rep, err := e.findStuck(ctx, e.pool, p)
	if err != nil {
		return nil, store.InterpretError("stuck_work", err)
	}
	seen, err := store.StuckWorkFirstSeen(ctx, e.pool)
	if err != nil {
		return nil, store.InterpretError("stuck_work", err)
	}
	markFirstSeen(rep, seen)
	return rep, nil
}

// RecordStuckWork finds what is stuck, as StuckWork does, and makes
// tasker_stuck_work hold exactly those findings, when no other process is
// running maintenance right now (leader is false then, and nothing is
// done). A finding seen for the first time is logged at warn.
func (e *Engine) RecordStuckWork(ctx context.Context, p *tt.StuckParams) (rep *tt.StuckReport, leader bool, err error) {
	p, err = validateStuck(p)
	if err != nil {
		return nil, false, err
	}
	// The leader lock is a transaction advisory lock (as RescueExpiredLeases
	// takes it): it ends with the round's transaction, so it holds, and never
	// leaks, through a pooler in transaction mode.
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		return nil, false, store.InterpretError("record_stuck_work", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	ok, err := store.LeaderTryLock(ctx, tx, rescueLockKey)
	if err != nil || !ok {
		return nil, false, store.InterpretError("record_stuck_work", err)
	}
	rep, err = e.findStuck(ctx, tx, p)
	if err != nil {
		return nil, true, store.InterpretError("record_stuck_work", err)
	}
	before, err := store.StuckWorkFirstSeen(ctx, tx)
	if err == nil {
		err = store.StuckWorkReplace(ctx, tx, rep.Work)
	}
	var seen map[store.StuckKey]time.Time
	if err == nil {
		seen, err = store.StuckWorkFirstSeen(ctx, tx)
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		return nil, true, store.InterpretError("record_stuck_work", err)
	}
	markFirstSeen(rep, seen)
	for i := range rep.Work {
		w := &rep.Work[i]
		if _, known := before[store.KeyOf(w)]; !known {
			e.cfg.Logger.Warn("tasker engine: stuck work found", "kind", w.Kind, "task_id", w.TaskID, "step_id", w.StepID,
				"step", w.StepName, "reason", w.Reason)
		}
	}
	return rep, true, nil
}

func validateStuck(p *tt.StuckParams) (*tt.StuckParams, error) {
	if p == nil {
		return nil, tt.NewValidationError("stuck_work", "", "parameters are required")
	}
	q := *p
	v := &tt.ValidationError{Op: "stuck_work"}
	if q.DefaultStepTimeoutMS == 0 {
		q.DefaultStepTimeoutMS = defaultStuckStepTimeout.Milliseconds()
	}
	const week = 7 * 24 * 3600 * 1000
	if q.DefaultStepTimeoutMS < 1 || q.DefaultStepTimeoutMS > week {
		v.Problems = append(v.Problems, tt.FieldError{Field: "default_step_timeout_ms",
			Problem: fmt.Sprintf("must be within 1..%d (0: 5 minutes), got %d", week, p.DefaultStepTimeoutMS)})
	}
	if q.GraceMS < 0 || q.GraceMS > week {
		v.Problems = append(v.Problems, tt.FieldError{Field: "grace_ms",
			Problem: fmt.Sprintf("must be within 0..%d, got %d", week, q.GraceMS)})
	}
	if q.Limit == 0 {
		q.Limit = tt.DefaultStuckLimit
	}
	if q.Limit < 1 || q.Limit > tt.MaxStuckLimit {
		v.Problems = append(v.Problems, tt.FieldError{Field: "limit",
			Problem: fmt.Sprintf("must be within 1..%d, got %d", tt.MaxStuckLimit, p.Limit)})
	}
	if len(v.Problems) > 0 {
		return nil, v
	}
	return &q, nil
}

// findStuck runs the two detections: steps (from the lease index) and
// tasks (from the current-state index of the unfinished ones).
func (e *Engine) findStuck(ctx context.Context, db store.DBTX, p *tt.StuckParams) (*tt.StuckReport, error) {
	steps, err := store.StuckSteps(ctx, db, p.DefaultStepTimeoutMS, p.GraceMS, p.Limit)
	if err != nil {
		return nil, err
	}
	tasks, err := store.StuckTasks(ctx, db, p.Limit)
	if err != nil {
		return nil, err
	}
	rep := &tt.StuckReport{CheckedAt: time.Now().UTC(), Work: make([]tt.StuckWork, 0, len(steps)+len(tasks))}
	for i := range steps {
		rep.Work = append(rep.Work, stuckStep(&steps[i]))
	}
	for i := range tasks {
		rep.Work = append(rep.Work, stuckTask(&tasks[i]))
	}
	return rep, nil
}

func stuckStep(s *store.StuckStep) tt.StuckWork {
	id := s.WorkflowStepID
	w := tt.StuckWork{
		TaskID: s.TaskID, Namespace: s.Namespace, Name: s.Name, Version: s.Version,
		TaskStatus: tt.TaskState(s.TaskStatus), StepID: &id, StepName: s.StepName,
	}
	details := map[string]any{"worker": s.ClaimOwner, "attempts": s.Attempts, "started_at": s.LastAttemptedAt,
		"lease_expires_at": s.LeaseExpiresAt, "running_seconds": s.RunningSeconds}
	if s.TimeoutSeconds > 0 {
		details["timeout_seconds"] = s.TimeoutSeconds
	}
	if s.LeaseExpired {
		w.Kind = tt.StuckLeaseExpired
		w.Reason = fmt.Sprintf("the lease of worker %q expired %s ago and the step was not rescued "+
			"(no worker runs maintenance, or its task stayed locked)", s.ClaimOwner, seconds(s.LeaseOverdueSeconds))
	} else {
		w.Kind = tt.StuckPastTimeout
		limit := "the default step timeout"
		if s.TimeoutSeconds > 0 {
			limit = fmt.Sprintf("its timeout of %ds", s.TimeoutSeconds)
		}
		w.Reason = fmt.Sprintf("running for %s on worker %q, past %s; the worker still extends its lease but never failed it",
			seconds(s.RunningSeconds), s.ClaimOwner, limit)
	}
	w.Details = mustJSON(details)
	return w
}

func stuckTask(t *store.StuckTask) tt.StuckWork {
	var why []string
	switch {
	case t.Total == 0:
		why = append(why, "the task has no steps")
	case t.Done == t.Total:
		why = append(why, fmt.Sprintf("every step finished but the task was never finalized (still %s)", t.Status))
	}
	if t.PendingInProcess > 0 {
		why = append(why, fmt.Sprintf("%s pending but marked in_process, so no worker can claim them", steps(t.PendingInProcess)))
	}
	if t.PendingProcessed > 0 {
		why = append(why, fmt.Sprintf("%s pending but marked processed, so no worker can claim them", steps(t.PendingProcessed)))
	}
	if t.ParentsDoneUncounted > 0 {
		why = append(why, fmt.Sprintf("%s still waiting for parents that all finished (pending_parents out of step)",
			steps(t.ParentsDoneUncounted)))
	}
	if t.Failed+t.Cancelled > 0 && len(why) == 0 {
		why = append(why, fmt.Sprintf("%s in error and %d cancelled block the rest, but the task was not moved to error",
			steps(t.Failed), t.Cancelled))
	}
	if len(why) == 0 {
		why = append(why, "no step is running, waiting for a retry or ready")
	}
	return tt.StuckWork{
		Kind: tt.StuckNoRunnableStep, TaskID: t.TaskID, Namespace: t.Namespace, Name: t.Name, Version: t.Version,
		TaskStatus: tt.TaskState(t.Status), Reason: strings.Join(why, "; "),
		Details: mustJSON(map[string]any{"steps": t.Total, "done": t.Done, "error": t.Failed, "cancelled": t.Cancelled,
			"pending_in_process": t.PendingInProcess, "pending_processed": t.PendingProcessed,
			"waiting_on_finished_parents": t.ParentsDoneUncounted}),
	}
}

func markFirstSeen(rep *tt.StuckReport, seen map[store.StuckKey]time.Time) {
	for i := range rep.Work {
		if at, ok := seen[store.KeyOf(&rep.Work[i])]; ok {
			rep.Work[i].FirstSeenAt = &at
		}
	}
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

func steps(n int32) string {
	if n == 1 {
		return "1 step"
	}
	return fmt.Sprintf("%d steps", n)
}

func mustJSON(v map[string]any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of scalars and times always marshal
	}
	return b
}
