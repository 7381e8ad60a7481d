package taskertype

import (
	"time"

	"github.com/goccy/go-json"
)

// TaskRequest asks for a new task from a registered template.
type TaskRequest struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Version selects the template version; empty means the newest registered.
	Version string `json:"version,omitempty"`
	// Context is the task's input, a JSON object.
	Context      json.RawMessage `json:"context"`
	Initiator    string          `json:"initiator,omitempty"`
	SourceSystem string          `json:"source_system,omitempty"`
	Reason       string          `json:"reason,omitempty"`
	Tags         []string        `json:"tags,omitempty"`
	Priority     int             `json:"priority,omitempty"`
	// IdempotencyKey, when set, is the task's identity (whatever the strategy).
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// IdentityStrategy overrides the template's strategy for this request.
	IdentityStrategy IdentityStrategy `json:"identity_strategy,omitempty"`
}

// InitializeResult is what initializing a task returns.
type InitializeResult struct {
	TaskID            int64            `json:"task_id"`
	StepCount         int              `json:"step_count"`
	StepMapping       map[string]int64 `json:"step_mapping"`
	HandlerConfigName string           `json:"handler_config_name"`
	WorkflowSteps     []WorkflowStep   `json:"workflow_steps"`
}

// WorkflowStep is one step of a task as stored.
type WorkflowStep struct {
	WorkflowStepID        int64           `json:"workflow_step_id"`
	TaskID                int64           `json:"task_id"`
	Name                  string          `json:"name"`
	Handler               string          `json:"handler"`
	Status                StepState       `json:"status"`
	DependsOn             []string        `json:"depends_on"`
	Retryable             bool            `json:"retryable"`
	RetryLimit            int             `json:"retry_limit"`
	Attempts              int             `json:"attempts"`
	InProcess             bool            `json:"in_process"`
	Processed             bool            `json:"processed"`
	ProcessedAt           *time.Time      `json:"processed_at"`
	LastAttemptedAt       *time.Time      `json:"last_attempted_at"`
	BackoffRequestSeconds *float64        `json:"backoff_request_seconds"`
	NextRetryAt           *time.Time      `json:"next_retry_at"`
	Results               json.RawMessage `json:"results"`
	LastError             json.RawMessage `json:"last_error"`
	// DurationMS is the time from the last claim to completion (or now while
	// in progress), nil when the step never ran.
	DurationMS *int64 `json:"duration_ms"`
}

// TaskStatus is a task with its steps, as shown by `tasker-core status`.
type TaskStatus struct {
	TaskID       int64           `json:"task_id"`
	Namespace    string          `json:"namespace"`
	Name         string          `json:"name"`
	Version      string          `json:"version"`
	Status       TaskState       `json:"status"`
	Complete     bool            `json:"complete"`
	Context      json.RawMessage `json:"context"`
	Tags         []string        `json:"tags"`
	Initiator    string          `json:"initiator"`
	SourceSystem string          `json:"source_system"`
	Reason       string          `json:"reason"`
	Priority     int             `json:"priority"`
	RequestedAt  time.Time       `json:"requested_at"`
	CompletedAt  *time.Time      `json:"completed_at"`
	Steps        []WorkflowStep  `json:"steps"`
}
