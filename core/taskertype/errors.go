package taskertype

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Code is a stable error code of the C ABI. Codes are never renamed; new ones
// may be added.
type Code string

const (
	CodeValidation        Code = "validation"
	CodeNotFound          Code = "not_found"
	CodeDuplicate         Code = "duplicate"
	CodeConflict          Code = "conflict"
	CodeInvalidTransition Code = "invalid_transition"
	CodeStaleClaim        Code = "stale_claim"
	CodeNotReady          Code = "not_ready"
	CodeTimeout           Code = "timeout"
	CodeDatabase          Code = "database"
	CodeInternal          Code = "internal"
	CodeABI               Code = "abi"
	// CodeInvalidHandle and CodeNotInitialized are raised by the C ABI only.
	CodeInvalidHandle  Code = "invalid_handle"
	CodeNotInitialized Code = "not_initialized"
	// CodeShutdown says a dispatcher is quiet or stopped and hands out no more
	// steps: the executor asking should exit.
	CodeShutdown Code = "shutdown"
)

// Coded is implemented by every typed error of tasker-core.
type Coded interface {
	error
	Code() Code
	// Details repeats the error's facts as fields, so that no caller ever
	// parses a message.
	Details() map[string]any
}

// CodeOf returns the ABI code of err: its own code when it carries one,
// timeout for context deadlines, internal otherwise.
func CodeOf(err error) Code {
	var c Coded
	if errors.As(err, &c) {
		return c.Code()
	}
	if errors.Is(err, ErrNotFound) {
		return CodeNotFound
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return CodeTimeout
	}
	return CodeInternal
}

// ErrNotFound is wrapped by NotFoundError and returned by lookups that match
// nothing.
var ErrNotFound = errors.New("not found")

// NotFoundError names what was looked for.
type NotFoundError struct {
	Kind string // "task", "step", "template", "namespace"
	Key  string // the id or name looked up
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %s not found", e.Kind, e.Key) }
func (e *NotFoundError) Code() Code    { return CodeNotFound }
func (e *NotFoundError) Unwrap() error { return ErrNotFound }
func (e *NotFoundError) Details() map[string]any {
	return map[string]any{"kind": e.Kind, "key": e.Key}
}

// FieldError is one problem with one field of an input.
type FieldError struct {
	// Field is a path such as "steps[2].depends_on" or "context.items[0].sku";
	// empty for a problem with the input as a whole.
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// ValidationError lists every problem found with an input. Nothing was
// written when it is returned.
type ValidationError struct {
	Op       string // the operation, e.g. "register_template"
	Problems []FieldError
}

// NewValidationError builds a ValidationError with one problem.
func NewValidationError(op, field, format string, args ...any) *ValidationError {
	return &ValidationError{Op: op, Problems: []FieldError{{Field: field, Problem: fmt.Sprintf(format, args...)}}}
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		if p.Field == "" {
			parts[i] = p.Problem
		} else {
			parts[i] = p.Field + ": " + p.Problem
		}
	}
	msg := strings.Join(parts, "; ")
	if e.Op != "" {
		msg = e.Op + ": " + msg
	}
	return msg
}
func (e *ValidationError) Code() Code { return CodeValidation }
func (e *ValidationError) Details() map[string]any {
	d := map[string]any{"problems": e.Problems}
	if len(e.Problems) > 0 {
		d["field"] = e.Problems[0].Field
	}
	return d
}

// DuplicateTaskError is returned when a task request matches an existing
// task's identity.
type DuplicateTaskError struct {
	ExistingTaskID int64
	Strategy       IdentityStrategy
}

func (e *DuplicateTaskError) Error() string {
	return fmt.Sprintf("duplicate task request: task %d has the same identity (strategy %s)", e.ExistingTaskID, e.Strategy)
}
func (e *DuplicateTaskError) Code() Code { return CodeDuplicate }
func (e *DuplicateTaskError) Details() map[string]any {
	return map[string]any{"existing_task_id": e.ExistingTaskID, "identity_strategy": string(e.Strategy)}
}

// TemplateConflictError is returned when a template version is registered
// again with a different shape.
type TemplateConflictError struct {
	Namespace, Name, Version string
}

func (e *TemplateConflictError) Error() string {
	return fmt.Sprintf("template %s/%s@%s is already registered with a different shape; register it under a new version", e.Namespace, e.Name, e.Version)
}
func (e *TemplateConflictError) Code() Code { return CodeConflict }
func (e *TemplateConflictError) Details() map[string]any {
	return map[string]any{"namespace": e.Namespace, "name": e.Name, "version": e.Version}
}

// InvalidTransitionError is returned for a state change the state machine
// does not allow.
type InvalidTransitionError struct {
	Entity string // "task" or "step"
	ID     int64
	From   string
	To     string
}

func (e *InvalidTransitionError) Error() string {
	return fmt.Sprintf("%s %d cannot go from %s to %s", e.Entity, e.ID, e.From, e.To)
}
func (e *InvalidTransitionError) Code() Code { return CodeInvalidTransition }
func (e *InvalidTransitionError) Details() map[string]any {
	return map[string]any{"entity": e.Entity, "id": e.ID, "from": e.From, "to": e.To}
}

// StaleClaimError is returned when a worker reports on a claim it no longer
// holds: its lease expired and the step was reclaimed, or it was cancelled,
// or it has already been reported.
type StaleClaimError struct {
	StepID int64
	Status StepState
}

func (e *StaleClaimError) Error() string {
	return fmt.Sprintf("stale claim on step %d: the claim token no longer matches (step is %s); its lease expired or it was reclaimed, cancelled or already reported", e.StepID, e.Status)
}
func (e *StaleClaimError) Code() Code { return CodeStaleClaim }
func (e *StaleClaimError) Details() map[string]any {
	return map[string]any{"step_id": e.StepID, "status": string(e.Status)}
}

// NotReadyReason says why a step cannot run now.
type NotReadyReason string

const (
	NotReadyDependencies NotReadyReason = "dependencies_unmet"
	NotReadyBackoff      NotReadyReason = "in_backoff"
	NotReadyClaimed      NotReadyReason = "claimed"
	NotReadyDone         NotReadyReason = "already_done"
	NotReadyBlocked      NotReadyReason = "blocked"
)

// NotReadyError is returned by the one-step-at-a-time call for a step that
// is not ready.
type NotReadyError struct {
	StepID       int64
	StepName     string
	Reason       NotReadyReason
	Status       StepState
	UnmetParents []string   // for dependencies_unmet
	RetryAt      *time.Time // for in_backoff
	ClaimedBy    string     // for claimed
}

func (e *NotReadyError) Error() string {
	switch e.Reason {
	case NotReadyDependencies:
		return fmt.Sprintf("step %q (%d) is not ready: dependencies unmet: %s", e.StepName, e.StepID, strings.Join(e.UnmetParents, ", "))
	case NotReadyBackoff:
		return fmt.Sprintf("step %q (%d) is not ready: in backoff until %s", e.StepName, e.StepID, e.RetryAt.UTC().Format(time.RFC3339Nano))
	case NotReadyClaimed:
		return fmt.Sprintf("step %q (%d) is not ready: claimed by %q", e.StepName, e.StepID, e.ClaimedBy)
	case NotReadyDone:
		return fmt.Sprintf("step %q (%d) is not ready: already done (%s)", e.StepName, e.StepID, e.Status)
	default:
		return fmt.Sprintf("step %q (%d) is not ready: %s (%s)", e.StepName, e.StepID, e.Reason, e.Status)
	}
}
func (e *NotReadyError) Code() Code { return CodeNotReady }
func (e *NotReadyError) Details() map[string]any {
	d := map[string]any{"step_id": e.StepID, "step_name": e.StepName, "reason": string(e.Reason), "status": string(e.Status)}
	if len(e.UnmetParents) > 0 {
		d["unmet_parents"] = e.UnmetParents
	}
	if e.RetryAt != nil {
		d["retry_at"] = e.RetryAt.UTC().Format(time.RFC3339Nano)
	}
	if e.ClaimedBy != "" {
		d["claimed_by"] = e.ClaimedBy
	}
	return d
}

// DatabaseError wraps an error from PostgreSQL that has no better meaning.
type DatabaseError struct {
	Op  string
	Err error
	// SQLState is the server's error code when the error came from the server.
	SQLState string
	// Hint says what to change when the error has a likely cause outside
	// the engine (a misconfigured connection pooler).
	Hint string
}

func (e *DatabaseError) Error() string {
	if e.Hint != "" {
		return fmt.Sprintf("database error in %s: %v (%s)", e.Op, e.Err, e.Hint)
	}
	return fmt.Sprintf("database error in %s: %v", e.Op, e.Err)
}
func (e *DatabaseError) Unwrap() error { return e.Err }
func (e *DatabaseError) Code() Code    { return CodeDatabase }
func (e *DatabaseError) Details() map[string]any {
	d := map[string]any{"op": e.Op}
	if e.SQLState != "" {
		d["sqlstate"] = e.SQLState
	}
	if e.Hint != "" {
		d["hint"] = e.Hint
	}
	return d
}

// TimeoutError is returned when a call's deadline passed or it was cancelled.
type TimeoutError struct {
	Op  string
	Err error
}

func (e *TimeoutError) Error() string { return fmt.Sprintf("%s timed out: %v", e.Op, e.Err) }
func (e *TimeoutError) Unwrap() error { return e.Err }
func (e *TimeoutError) Code() Code    { return CodeTimeout }
func (e *TimeoutError) Details() map[string]any {
	return map[string]any{"op": e.Op}
}
