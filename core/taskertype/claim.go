package taskertype

import (
	"time"

	"github.com/goccy/go-json"
)

// ClaimParams asks for up to Limit ready steps.
type ClaimParams struct {
	// Namespaces restricts the claim to tasks of these namespaces; empty means all.
	Namespaces []string `json:"namespaces,omitempty"`
	Limit      int      `json:"limit"`
	WorkerID   string   `json:"worker_id"`
	// LeaseMS is how long the claim holds without a heartbeat; 0 means the
	// engine's default.
	LeaseMS int64 `json:"lease_ms,omitempty"`
}

// ClaimOneParams claims one named step, for step-by-step tests.
type ClaimOneParams struct {
	StepID   int64  `json:"step_id"`
	WorkerID string `json:"worker_id"`
	LeaseMS  int64  `json:"lease_ms,omitempty"`
}

// ClaimedStep is everything a worker needs to run one step.
type ClaimedStep struct {
	WorkflowStepID int64           `json:"workflow_step_id"`
	TaskID         int64           `json:"task_id"`
	Namespace      string          `json:"namespace"`
	TaskName       string          `json:"task_name"`
	TaskVersion    string          `json:"task_version"`
	StepName       string          `json:"step_name"`
	Handler        string          `json:"handler"`
	HandlerConfig  json.RawMessage `json:"handler_config"`
	TaskContext    json.RawMessage `json:"task_context"`
	Inputs         json.RawMessage `json:"inputs"`
	// DependencyResults maps each direct parent step's name to its results
	// (other ancestors' results are fetched on request).
	DependencyResults map[string]json.RawMessage `json:"dependency_results"`
	Attempts          int                        `json:"attempts"`
	RetryLimit        int                        `json:"retry_limit"`
	Retryable         bool                       `json:"retryable"`
	ClaimToken        string                     `json:"claim_token"`
	LeaseExpiresAt    time.Time                  `json:"lease_expires_at"`
	// TimeoutSeconds bounds one attempt: past it the dispatcher fails the
	// attempt as a retryable timeout and any late result is a stale claim.
	// The step template's timeout_seconds, else the dispatcher's default; 0
	// from the engine's own claims when the template sets none.
	TimeoutSeconds int `json:"timeout_seconds"`
}

// ClaimResult is one claim batch.
type ClaimResult struct {
	Steps []ClaimedStep `json:"steps"`
}

// HeartbeatParams extends a claim's lease.
type HeartbeatParams struct {
	StepID     int64  `json:"step_id"`
	ClaimToken string `json:"claim_token"`
	LeaseMS    int64  `json:"lease_ms,omitempty"`
}

// HeartbeatResult carries the new lease end.
type HeartbeatResult struct {
	StepID         int64     `json:"step_id"`
	LeaseExpiresAt time.Time `json:"lease_expires_at"`
}

// CompleteParams reports a step's success.
type CompleteParams struct {
	StepID     int64  `json:"step_id"`
	ClaimToken string `json:"claim_token"`
	// Results are stored exactly as given.
	Results json.RawMessage `json:"results"`
}

// ReleaseParams gives back a claimed step the worker will not run (it is
// shutting down). The step returns to pending and the claim's attempt does
// not count.
type ReleaseParams struct {
	StepID     int64  `json:"step_id"`
	ClaimToken string `json:"claim_token"`
	Reason     string `json:"reason,omitempty"`
}

// StepFailure describes a failed attempt.
type StepFailure struct {
	Class     string   `json:"class,omitempty"`
	Message   string   `json:"message"`
	Backtrace []string `json:"backtrace,omitempty"`
}

// FailParams reports a step's failure.
type FailParams struct {
	StepID     int64       `json:"step_id"`
	ClaimToken string      `json:"claim_token"`
	Error      StepFailure `json:"error"`
	// Permanent failures go to error whatever attempts are left.
	Permanent bool `json:"permanent,omitempty"`
	// BackoffSeconds, when set, is the handler's requested wait before the
	// next attempt (capped by the engine's maximum).
	BackoffSeconds *float64 `json:"backoff_seconds,omitempty"`
}

// StepResult is the outcome of a completion or failure.
type StepResult struct {
	WorkflowStepID int64      `json:"workflow_step_id"`
	TaskID         int64      `json:"task_id"`
	StepName       string     `json:"step_name"`
	Status         StepState  `json:"status"`
	Attempts       int        `json:"attempts"`
	NextRetryAt    *time.Time `json:"next_retry_at"`
	TaskStatus     TaskState  `json:"task_status"`
}

// AncestorResultsParams asks, on behalf of a claimed step, for the results of
// some of its ancestors (at any depth). A claim carries only the direct
// parents' results; a handler that needs an earlier step's asks for it by
// name while its claim token holds the step.
//
// The token is required: a step's view of its ancestors belongs to its claim.
// Read-only tools that want any step's results read them from TaskStatus
// (tasker_task_status), which needs no claim.
type AncestorResultsParams struct {
	StepID     int64    `json:"step_id"`
	ClaimToken string   `json:"claim_token"`
	Names      []string `json:"names"`
}
