package taskertype

import "github.com/goccy/go-json"

// CancelTaskParams cancels a task and every step of it that has not finished.
type CancelTaskParams struct {
	TaskID int64  `json:"task_id"`
	Reason string `json:"reason,omitempty"`
}

// RetryTaskParams moves a task in error back to pending: its errored steps
// return to pending with their attempts reset.
type RetryTaskParams struct {
	TaskID int64  `json:"task_id"`
	Reason string `json:"reason,omitempty"`
}

// ResolveStepParams marks a step resolved manually, so its children may
// proceed. Results, when given, are stored as the step's results.
type ResolveStepParams struct {
	StepID  int64           `json:"step_id"`
	Reason  string          `json:"reason,omitempty"`
	Results json.RawMessage `json:"results,omitempty"`
}
