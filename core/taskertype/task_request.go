package taskertype

import (
	"errors"
	"time"

	"github.com/goccy/go-json"
)

// TaskRequestState is where a task request (a row of the outbox table
// tasker_task_requests) stands.
type TaskRequestState string

const (
	// TaskRequestPending is a committed request no dispatcher has taken up
	// yet, or one that hit a transient error (its Error and Attempts say so)
	// and will be taken up again. An operator's retry puts a failed request
	// back here.
	TaskRequestPending TaskRequestState = "pending"
	// TaskRequestCreated is terminal: the take-up created the task TaskID.
	TaskRequestCreated TaskRequestState = "created"
	// TaskRequestDuplicate is terminal: a task with the same identity existed
	// (initialize_task's duplicate), and TaskID is that task.
	TaskRequestDuplicate TaskRequestState = "duplicate"
	// TaskRequestFailed is a request that cannot succeed as it stands (an
	// unknown template, a context its template's schema refuses, a request
	// that does not decode) or that failed MaxTaskRequestAttempts times. It
	// stays, with its Error, until an operator retries it.
	TaskRequestFailed TaskRequestState = "failed"
)

// TaskRequestStates lists every task request state.
func TaskRequestStates() []TaskRequestState {
	return []TaskRequestState{TaskRequestPending, TaskRequestCreated, TaskRequestDuplicate, TaskRequestFailed}
}

// Valid reports whether s is one of TaskRequestStates.
func (s TaskRequestState) Valid() bool {
	for _, v := range TaskRequestStates() {
		if s == v {
			return true
		}
	}
	return false
}

// MaxTaskRequestAttempts is how many take-ups may fail on a transient error
// (a database error inside the request's own work) before the request is
// failed rather than retried again.
const MaxTaskRequestAttempts = 5

// ErrorInfo is an error as the C ABI hands it out: {code, message, details}.
type ErrorInfo struct {
	Code    Code           `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

// ErrorInfoOf describes err as the ABI would.
func ErrorInfoOf(err error) *ErrorInfo {
	info := &ErrorInfo{Code: CodeOf(err), Message: err.Error(), Details: map[string]any{}}
	var c Coded
	if errors.As(err, &c) && c.Details() != nil {
		info.Details = c.Details()
	}
	return info
}

// TaskRequestStatus is one task request as stored.
type TaskRequestStatus struct {
	TaskRequestID int64            `json:"task_request_id"`
	Status        TaskRequestState `json:"status"`
	// Namespace, Name and Version are read from Request; Version is empty
	// when the request asked for the newest registered version.
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	// Request is the TaskRequest JSON as the caller wrote it.
	Request json.RawMessage `json:"request"`
	// TaskID is the created task (created) or the existing task of the same
	// identity (duplicate); nil otherwise.
	TaskID *int64 `json:"task_id"`
	// Error is why the request failed, or the last transient error of a
	// pending one; nil otherwise.
	Error       *ErrorInfo `json:"error"`
	Attempts    int        `json:"attempts"`
	RequestedAt time.Time  `json:"requested_at"`
	ProcessedAt *time.Time `json:"processed_at"`
}

// TaskRequestListParams selects task requests, oldest first.
type TaskRequestListParams struct {
	// Status filters by state; empty lists every state.
	Status TaskRequestState `json:"status,omitempty"`
	// Limit caps the rows returned (1..1000; 0 means 100).
	Limit int `json:"limit,omitempty"`
	// AfterID pages: only requests with a larger id.
	AfterID int64 `json:"after_id,omitempty"`
}

// TaskRequestList is a page of task requests.
type TaskRequestList struct {
	Requests []TaskRequestStatus `json:"requests"`
}

// TaskRequestOutcome is what one take-up did with one request: its new
// Status (pending again when it was deferred after a transient error), the
// task it resolved to, or the error.
type TaskRequestOutcome struct {
	TaskRequestID int64            `json:"task_request_id"`
	Status        TaskRequestState `json:"status"`
	TaskID        *int64           `json:"task_id"`
	Error         *ErrorInfo       `json:"error"`
}

// TaskRequestTakeUpResult lists the requests one take-up round took, in id
// order.
type TaskRequestTakeUpResult struct {
	Requests []TaskRequestOutcome `json:"requests"`
}

// Count returns how many requests the round left in status.
func (r *TaskRequestTakeUpResult) Count(status TaskRequestState) int {
	n := 0
	for _, o := range r.Requests {
		if o.Status == status {
			n++
		}
	}
	return n
}
