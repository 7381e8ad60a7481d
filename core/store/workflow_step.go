package store

import (
	"context"
	"errors"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

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
	rows, err := db.Query(ctx, sqlOf("StepsInsert"), p.TaskID, p.NamedStepIDs, p.Retryable, p.RetryLimits, p.PendingParents, p.Priority)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int64, len(p.NamedStepIDs))
	var stepID, namedID int64
	_, err = pgx.ForEachRow(rows, []any{&stepID, &namedID}, func() error {
		out[namedID] = stepID
		return nil
	})
	return out, err
}

// EdgesInsert records parent → child edges.
func EdgesInsert(ctx context.Context, db DBTX, from, to []int64) error {
	_, err := db.Exec(ctx, sqlOf("EdgesInsert"), from, to)
	return err
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
	rows, err := db.Query(ctx, sqlOf("StepExpiredLeaseTasks"), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// StepRecoverExpiredLeases returns a task's steps with expired leases to the
// ready set (or to error when they have no attempts left). The caller holds
// the task lock.
func StepRecoverExpiredLeases(ctx context.Context, db DBTX, taskID int64) ([]RecoveredStep, error) {
	rows, err := db.Query(ctx, sqlOf("StepRecoverExpiredLeases"), taskID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RecoveredStep, error) {
		var s RecoveredStep
		err := r.Scan(&s.StepID, &s.TaskID, &s.Status)
		return s, err
	})
}

// StepAncestorResults reads the results of the ancestors of stepID named in
// names (distinct), at any depth, by name. A name that is not an ancestor is
// missing from the map.
func StepAncestorResults(ctx context.Context, db DBTX, stepID int64, names []string) (map[string]json.RawMessage, error) {
	rows, err := db.Query(ctx, sqlOf("StepAncestorResults"), stepID, names)
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(names))
	var name string
	var results []byte
	_, err = pgx.ForEachRow(rows, []any{&name, &results}, func() error {
		out[name] = append([]byte(nil), results...)
		return nil
	})
	return out, err
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
	var s ClaimState
	err := db.QueryRow(ctx, sqlOf("StepClaimState"), stepID).Scan(&s.Name, &s.Status, &s.ClaimToken)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &tt.NotFoundError{Kind: "step", Key: itoa(stepID)}
	}
	return &s, err
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
	var s LockedStep
	err := db.QueryRow(ctx, sqlOf("StepLock"), stepID).Scan(&s.ID, &s.TaskID, &s.Name, &s.Status, &s.ClaimToken,
		&s.ClaimOwner, &s.Attempts, &s.Retryable, &s.RetryLimit, &s.PendingParents, &s.NextRetryAt, &s.ReadyNow)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &tt.NotFoundError{Kind: "step", Key: itoa(stepID)}
	}
	return &s, err
}

// StepHeartbeat extends a claim's lease; ok is false when the token does not
// hold the step any more.
func StepHeartbeat(ctx context.Context, db DBTX, stepID int64, token string, leaseMS int64) (expires time.Time, ok bool, err error) {
	err = db.QueryRow(ctx, sqlOf("StepHeartbeat"), stepID, token, leaseMS).Scan(&expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return expires, false, nil
	}
	return expires, err == nil, err
}

// StepStatus reads a step's state.
func StepStatus(ctx context.Context, db DBTX, stepID int64) (tt.StepState, error) {
	var s tt.StepState
	err := db.QueryRow(ctx, sqlOf("StepStatus"), stepID).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, &tt.NotFoundError{Kind: "step", Key: itoa(stepID)}
	}
	return s, err
}

// StepComplete stores a step's results and marks it complete; ok is false
// when the step was in none of the from states.
func StepComplete(ctx context.Context, db DBTX, stepID int64, results []byte, from []string) (ok bool, err error) {
	tag, err := db.Exec(ctx, sqlOf("StepComplete"), stepID, results, from)
	return tag.RowsAffected() == 1, err
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
	err = db.QueryRow(ctx, sqlOf("StepFail"), p.StepID, string(p.Status), p.DelayMS, p.BackoffSeconds, p.LastError, p.From).Scan(&next)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return next, err == nil, err
}

// StepRelease returns a claimed step to pending, giving its attempt back;
// ok is false when the step was in none of the from states.
func StepRelease(ctx context.Context, db DBTX, stepID int64, from []string) (ok bool, err error) {
	tag, err := db.Exec(ctx, sqlOf("StepRelease"), stepID, from)
	return tag.RowsAffected() == 1, err
}

// StepResolve marks a step resolved manually, storing results when given;
// ok is false when the step was in none of the from states.
func StepResolve(ctx context.Context, db DBTX, stepID int64, results []byte, from []string) (ok bool, err error) {
	tag, err := db.Exec(ctx, sqlOf("StepResolve"), stepID, results, from)
	return tag.RowsAffected() == 1, err
}

// StepChildrenRelease tells each child of a finished step it has one parent
// fewer to wait for.
func StepChildrenRelease(ctx context.Context, db DBTX, stepID int64) error {
	_, err := db.Exec(ctx, sqlOf("StepChildrenRelease"), stepID)
	return err
}

// StepsCancelForTask cancels a task's unfinished steps.
func StepsCancelForTask(ctx context.Context, db DBTX, taskID int64, from []string) error {
	_, err := db.Exec(ctx, sqlOf("StepsCancelForTask"), taskID, from)
	return err
}

// StepsRetryForTask returns a task's errored steps to pending with attempts reset.
func StepsRetryForTask(ctx context.Context, db DBTX, taskID int64) (int64, error) {
	tag, err := db.Exec(ctx, sqlOf("StepsRetryForTask"), taskID)
	return tag.RowsAffected(), err
}

// StepUnmetParents names a step's parents that are not done.
func StepUnmetParents(ctx context.Context, db DBTX, stepID int64) ([]string, error) {
	rows, err := db.Query(ctx, sqlOf("StepUnmetParents"), stepID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// StepsForTask lists a task's steps in template order.
func StepsForTask(ctx context.Context, db DBTX, taskID int64) ([]tt.WorkflowStep, error) {
	rows, err := db.Query(ctx, sqlOf("StepsForTask"), taskID)
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
func StepReadiness(ctx context.Context, db DBTX, taskID int64, stepIDs []int64) ([]tt.StepReadiness, error) {
	rows, err := db.Query(ctx, sqlOf("StepReadiness"), taskID, stepIDs)
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
	rows, err := db.Query(ctx, sqlOf("DependencyLevels"), taskID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tt.DependencyLevel, error) {
		var l tt.DependencyLevel
		err := r.Scan(&l.WorkflowStepID, &l.DependencyLevel)
		return l, err
	})
}
