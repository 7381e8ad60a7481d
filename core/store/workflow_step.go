package store

import (
	"context"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/store/internal/dbsqlc"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// StepsInsertParams are the steps of a new task, in template order.
type StepsInsertParams struct {
	TaskID         int64
	NamedStepIDs   []int64
	Retryable      []bool
	RetryLimits    []int32
	PendingParents []int32
	Priority       int
}

// StepsInsert creates a task's steps (pending, with their initial transition
// written by trigger) and maps each named step id to its workflow step id.
func StepsInsert(ctx context.Context, db DBTX, p *StepsInsertParams) (map[int64]int64, error) {
	rows, err := queries.StepsInsert(ctx, db, dbsqlc.StepsInsertParams{
		TaskID:         p.TaskID,
		Priority:       int32(p.Priority),
		NamedStepIds:   p.NamedStepIDs,
		Retryable:      p.Retryable,
		RetryLimits:    p.RetryLimits,
		PendingParents: p.PendingParents,
	})
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int64, len(rows))
	for _, r := range rows {
		out[r.NamedStepID] = r.WorkflowStepID
	}
	return out, nil
}

// EdgesInsert records parent → child edges.
func EdgesInsert(ctx context.Context, db DBTX, from, to []int64) error {
	return queries.EdgesInsert(ctx, db, dbsqlc.EdgesInsertParams{FromStepIds: from, ToStepIds: to})
}

// RecoveredStep is a step whose lease expired.
type RecoveredStep struct {
	StepID int64
	TaskID int64
	Status tt.StepState
}

// StepExpiredLeaseTasks returns the tasks of up to limit steps whose leases
// expired.
func StepExpiredLeaseTasks(ctx context.Context, db DBTX, limit int) ([]int64, error) {
	return queries.StepExpiredLeaseTasks(ctx, db, int32(limit))
}

// StepRecoverExpiredLeases returns a task's steps with expired leases to the
// ready set (or to error when they have no attempts left). The caller holds
// the task lock.
func StepRecoverExpiredLeases(ctx context.Context, db DBTX, taskID int64) ([]RecoveredStep, error) {
	rows, err := queries.StepRecoverExpiredLeases(ctx, db, taskID)
	if err != nil {
		return nil, err
	}
	out := make([]RecoveredStep, len(rows))
	for i, r := range rows {
		out[i] = RecoveredStep{StepID: r.WorkflowStepID, TaskID: r.TaskID, Status: tt.StepState(r.Status)}
	}
	return out, nil
}

// StepAncestorResults reads the results of the ancestors of stepID named in
// names (distinct), at any depth, by name. A name that is not an ancestor is
// missing from the map.
func StepAncestorResults(ctx context.Context, db DBTX, stepID int64, names []string) (map[string]json.RawMessage, error) {
	rows, err := queries.StepAncestorResults(ctx, db, dbsqlc.StepAncestorResultsParams{StepID: stepID, Names: names})
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(names))
	for _, r := range rows {
		out[r.Name] = r.Results
	}
	return out, nil
}

// ClaimState is a step's name, state and claim token, read without a lock.
type ClaimState struct {
	Name       string
	Status     tt.StepState
	ClaimToken string
}

// StepClaimState reads a step's name, state and claim token (empty when
// unclaimed) without locking it.
func StepClaimState(ctx context.Context, db DBTX, stepID int64) (*ClaimState, error) {
	r, err := queries.StepClaimState(ctx, db, stepID)
	if err != nil {
		return nil, notFound(err, "step", stepID)
	}
	return &ClaimState{Name: r.Name, Status: tt.StepState(r.Status), ClaimToken: r.ClaimToken}, nil
}

// LockedStep is a step row locked for the rest of the transaction.
type LockedStep struct {
	ID             int64
	TaskID         int64
	Name           string
	Status         tt.StepState
	ClaimToken     string
	ClaimOwner     string
	Attempts       int
	Retryable      bool
	RetryLimit     int
	PendingParents int
	NextRetryAt    *time.Time
	ReadyNow       bool
}

// StepLock locks a step row.
func StepLock(ctx context.Context, db DBTX, stepID int64) (*LockedStep, error) {
	r, err := queries.StepLock(ctx, db, stepID)
	if err != nil {
		return nil, notFound(err, "step", stepID)
	}
	return &LockedStep{
		ID:             r.WorkflowStepID,
		TaskID:         r.TaskID,
		Name:           r.Name,
		Status:         tt.StepState(r.Status),
		ClaimToken:     r.ClaimToken,
		ClaimOwner:     r.ClaimOwner,
		Attempts:       int(r.Attempts),
		Retryable:      r.Retryable,
		RetryLimit:     int(r.RetryLimit),
		PendingParents: int(r.PendingParents),
		NextRetryAt:    r.NextRetryAt,
		// Never NULL (ready_at IS NOT NULL AND ...); sqlc types it nullable.
		ReadyNow: r.ReadyNow != nil && *r.ReadyNow,
	}, nil
}

// StepHeartbeat extends a claim's lease; ok is false when the token does not
// hold the step any more.
func StepHeartbeat(ctx context.Context, db DBTX, stepID int64, token string, leaseMS int64) (expires time.Time, ok bool, err error) {
	at, ok, err := optional(queries.StepHeartbeat(ctx, db, dbsqlc.StepHeartbeatParams{
		LeaseMs: float64(leaseMS), StepID: stepID, ClaimToken: token,
	}))
	if at != nil {
		expires = *at
	}
	return expires, ok, err
}

// StepStatus reads a step's state.
func StepStatus(ctx context.Context, db DBTX, stepID int64) (tt.StepState, error) {
	s, err := queries.StepStatus(ctx, db, stepID)
	return tt.StepState(s), notFound(err, "step", stepID)
}

// StepComplete stores a step's results and marks it complete; ok is false
// when the step was in none of the from states.
func StepComplete(ctx context.Context, db DBTX, stepID int64, results []byte, from []string) (ok bool, err error) {
	n, err := queries.StepComplete(ctx, db, dbsqlc.StepCompleteParams{Results: results, StepID: stepID, FromStatuses: from})
	return n == 1, err
}

// StepFailParams records a failed attempt.
type StepFailParams struct {
	StepID         int64
	Status         tt.StepState
	DelayMS        int64
	BackoffSeconds *float64
	LastError      []byte
	From           []string
}

// StepFail moves a step to waiting_for_retry or error and returns its next
// retry time, if any; ok is false when the step was in none of the from states.
func StepFail(ctx context.Context, db DBTX, p *StepFailParams) (next *time.Time, ok bool, err error) {
	return optional(queries.StepFail(ctx, db, dbsqlc.StepFailParams{
		Status:         string(p.Status),
		DelayMs:        float64(p.DelayMS),
		BackoffSeconds: p.BackoffSeconds,
		LastError:      p.LastError,
		StepID:         p.StepID,
		FromStatuses:   p.From,
	}))
}

// StepRelease returns a claimed step to pending, giving its attempt back;
// ok is false when the step was in none of the from states.
func StepRelease(ctx context.Context, db DBTX, stepID int64, from []string) (ok bool, err error) {
	n, err := queries.StepRelease(ctx, db, dbsqlc.StepReleaseParams{StepID: stepID, FromStatuses: from})
	return n == 1, err
}

// StepResolve marks a step resolved manually, storing results when given;
// ok is false when the step was in none of the from states.
func StepResolve(ctx context.Context, db DBTX, stepID int64, results []byte, from []string) (ok bool, err error) {
	n, err := queries.StepResolve(ctx, db, dbsqlc.StepResolveParams{Results: results, StepID: stepID, FromStatuses: from})
	return n == 1, err
}

// StepChildrenRelease tells each child of a finished step it has one parent
// fewer to wait for.
func StepChildrenRelease(ctx context.Context, db DBTX, stepID int64) error {
	return queries.StepChildrenRelease(ctx, db, stepID)
}

// StepsCancelForTask cancels a task's unfinished steps.
func StepsCancelForTask(ctx context.Context, db DBTX, taskID int64, from []string) error {
	return queries.StepsCancelForTask(ctx, db, dbsqlc.StepsCancelForTaskParams{TaskID: taskID, FromStatuses: from})
}

// StepsRetryForTask returns a task's errored steps to pending with attempts reset.
func StepsRetryForTask(ctx context.Context, db DBTX, taskID int64) (int64, error) {
	return queries.StepsRetryForTask(ctx, db, taskID)
}

// StepUnmetParents names a step's parents that are not done.
func StepUnmetParents(ctx context.Context, db DBTX, stepID int64) ([]string, error) {
	return queries.StepUnmetParents(ctx, db, stepID)
}

// StepsForTask lists a task's steps in template order. It runs the generated
// SQL but scans by hand: duration_ms is NULL for a step that never ran, and
// sqlc types a CASE whose ELSE is a cast as never NULL.
func StepsForTask(ctx context.Context, db DBTX, taskID int64) ([]tt.WorkflowStep, error) {
	rows, err := db.Query(ctx, dbsqlc.StepsForTask, taskID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tt.WorkflowStep, error) {
		var s tt.WorkflowStep
		err := r.Scan(&s.WorkflowStepID, &s.TaskID, &s.Name, &s.Handler, &s.Status, &s.DependsOn, &s.Retryable,
			&s.RetryLimit, &s.Attempts, &s.InProcess, &s.Processed, &s.ProcessedAt, &s.LastAttemptedAt,
			&s.BackoffRequestSeconds, &s.NextRetryAt, &s.Results, &s.LastError, &s.DurationMS)
		if s.DependsOn == nil {
			s.DependsOn = []string{}
		}
		return s, err
	})
}

// StepReadiness runs get_step_readiness_status; stepIDs nil means every step.
// It runs the generated SQL but scans by hand: last_failure_at,
// next_retry_at, backoff_request_seconds and last_attempted_at may be NULL,
// and sqlc, which cannot see a table function's columns without a database,
// types them as never NULL.
func StepReadiness(ctx context.Context, db DBTX, taskID int64, stepIDs []int64) ([]tt.StepReadiness, error) {
	p := dbsqlc.StepReadinessParams{TaskID: taskID, StepIds: stepIDs}
	rows, err := db.Query(ctx, dbsqlc.StepReadiness, p.TaskID, p.StepIds)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tt.StepReadiness, error) {
		var s tt.StepReadiness
		err := r.Scan(&s.WorkflowStepID, &s.TaskID, &s.NamedStepID, &s.Name, &s.CurrentState, &s.DependenciesSatisfied,
			&s.RetryEligible, &s.ReadyForExecution, &s.LastFailureAt, &s.NextRetryAt, &s.TotalParents,
			&s.CompletedParents, &s.Attempts, &s.RetryLimit, &s.BackoffRequestSeconds, &s.LastAttemptedAt)
		return s, err
	})
}

// DependencyLevels runs calculate_dependency_levels.
func DependencyLevels(ctx context.Context, db DBTX, taskID int64) ([]tt.DependencyLevel, error) {
	rows, err := queries.DependencyLevels(ctx, db, taskID)
	if err != nil {
		return nil, err
	}
	out := make([]tt.DependencyLevel, len(rows))
	for i, r := range rows {
		out[i] = tt.DependencyLevel{WorkflowStepID: r.WorkflowStepID, DependencyLevel: int(r.DependencyLevel)}
	}
	return out, nil
}
