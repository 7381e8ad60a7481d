package taskertype

import (
	"time"

	"github.com/goccy/go-json"
)

// The operations surface: what `tasker-core list/stats/stuck`, the dashboard
// and the metrics read.

// Listing limits: a page holds MaxTaskListLimit tasks at most.
const (
	DefaultTaskListLimit = 50
	MaxTaskListLimit     = 500
)

// TaskListParams selects a page of tasks, newest first. Every filter is
// optional; filters combine with AND.
type TaskListParams struct {
	// States keeps tasks in any of these states.
	States []TaskState `json:"states,omitempty"`
	// Namespace, Name and Version keep tasks of matching templates (Name
	// and Version need the fields before them).
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Version   string `json:"version,omitempty"`
	// OlderThanSeconds keeps tasks requested more than that long ago,
	// NewerThanSeconds those requested at most that long ago (0: no bound).
	OlderThanSeconds int64 `json:"older_than_seconds,omitempty"`
	NewerThanSeconds int64 `json:"newer_than_seconds,omitempty"`
	// BeforeTaskID is the cursor: only tasks with a smaller id (a page's
	// NextBeforeTaskID). 0 starts at the newest task.
	BeforeTaskID int64 `json:"before_task_id,omitempty"`
	// Limit is the page size, 1..MaxTaskListLimit (DefaultTaskListLimit
	// when 0).
	Limit int `json:"limit,omitempty"`
}

// TaskSummary is one task of a list.
type TaskSummary struct {
	TaskID      int64      `json:"task_id"`
	Namespace   string     `json:"namespace"`
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Status      TaskState  `json:"status"`
	Priority    int        `json:"priority"`
	RequestedAt time.Time  `json:"requested_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	CompletedAt *time.Time `json:"completed_at"`
	// Steps counts the task's steps: total, done (complete or resolved),
	// failed (error) and active (claimed, waiting for a retry or ready).
	Steps StepTally `json:"steps"`
}

// StepTally counts a task's steps by what they can still do.
type StepTally struct {
	Total  int `json:"total"`
	Done   int `json:"done"`
	Failed int `json:"failed"`
	Active int `json:"active"`
}

// TaskList is a page of tasks. NextBeforeTaskID is the cursor of the next
// page, nil on the last one. Tasks created while paging have larger ids, so
// they never shift a page: every task that existed at the first page is
// seen exactly once (unless its state or template leaves the filter).
type TaskList struct {
	Tasks            []TaskSummary `json:"tasks"`
	NextBeforeTaskID *int64        `json:"next_before_task_id"`
}

// StatsParams asks for the operations summary.
type StatsParams struct {
	// Minutes of throughput history, 1..MaxStatsMinutes (15 when 0).
	Minutes int `json:"minutes,omitempty"`
}

// Throughput history limits.
const (
	DefaultStatsMinutes = 15
	MaxStatsMinutes     = 1440
)

// MinuteThroughput counts the step attempts that finished in one minute.
type MinuteThroughput struct {
	Minute time.Time `json:"minute"`
	// Completed steps, and Failed attempts (retryable or not, lease
	// expiries and timeouts included).
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
}

// OperationsStats is the summary of `tasker-core stats`.
type OperationsStats struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Tasks counts every task by state (each state present, 0 when none).
	Tasks map[TaskState]int64 `json:"tasks"`
	// OpenSteps counts by state the steps of tasks not finished (pending,
	// in_progress or error): the work left and what blocks it. Finished
	// work shows in Throughput.
	OpenSteps map[StepState]int64 `json:"open_steps"`
	// ReadySteps may be claimed now; OldestReadySeconds is how long the
	// oldest of them has waited (nil when none).
	ReadySteps         int64    `json:"ready_steps"`
	OldestReadySeconds *float64 `json:"oldest_ready_seconds"`
	// Stuck counts the maintenance leader's last findings by kind.
	Stuck map[StuckKind]int64 `json:"stuck"`
	// Throughput has one entry per minute, oldest first, the current
	// (partial) minute last.
	Throughput []MinuteThroughput `json:"throughput"`
}

// StuckKind says why work is stuck.
type StuckKind string

const (
	// StuckLeaseExpired is a step in progress past its lease that the lease
	// rescue has not returned (no worker runs maintenance, or its task
	// stayed locked).
	StuckLeaseExpired StuckKind = "lease_expired"
	// StuckPastTimeout is a step in progress longer than its timeout while
	// its lease is still extended: a worker alive but not enforcing it.
	StuckPastTimeout StuckKind = "past_timeout"
	// StuckNoRunnableStep is a pending or in-progress task none of whose
	// steps is running, waiting for a retry or ready.
	StuckNoRunnableStep StuckKind = "no_runnable_step"
)

// StuckKinds lists every kind of stuck work.
func StuckKinds() []StuckKind {
	return []StuckKind{StuckLeaseExpired, StuckPastTimeout, StuckNoRunnableStep}
}

// StuckParams tunes stuck-work detection.
type StuckParams struct {
	// DefaultStepTimeoutMS is the timeout of steps whose template sets none
	// (the dispatcher's default, 5 minutes, when 0).
	DefaultStepTimeoutMS int64 `json:"default_step_timeout_ms,omitempty"`
	// GraceMS is how long past its timeout a step must be before it counts
	// (0: none). Maintenance passes the lease, the time a step's own worker
	// has to fail it.
	GraceMS int64 `json:"grace_ms,omitempty"`
	// Limit caps the findings of each kind, 1..MaxStuckLimit (100 when 0).
	Limit int `json:"limit,omitempty"`
}

// Stuck-work limits.
const (
	DefaultStuckLimit = 100
	MaxStuckLimit     = 1000
)

// StuckWork is one finding: a step or a task that is not progressing, and
// why.
type StuckWork struct {
	Kind      StuckKind `json:"kind"`
	TaskID    int64     `json:"task_id"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Version   string    `json:"version"`
	// TaskStatus is the task's state.
	TaskStatus TaskState `json:"task_status"`
	// StepID and StepName name the step of a step finding (nil/"" for a
	// task finding).
	StepID   *int64 `json:"step_id"`
	StepName string `json:"step_name"`
	// Reason says why, for a person; Details holds the facts (worker,
	// lease_expires_at, started_at, timeout_seconds, step counts).
	Reason  string          `json:"reason"`
	Details json.RawMessage `json:"details"`
	// FirstSeenAt is when the maintenance leader first recorded the
	// finding; nil when no round has recorded it yet.
	FirstSeenAt *time.Time `json:"first_seen_at"`
}

// StuckReport lists what is stuck now.
type StuckReport struct {
	CheckedAt time.Time   `json:"checked_at"`
	Work      []StuckWork `json:"work"`
}
