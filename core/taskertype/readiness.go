package taskertype

import "time"

// StepReadiness is one row of get_step_readiness_status.
type StepReadiness struct {
	WorkflowStepID        int64      `json:"workflow_step_id"`
	TaskID                int64      `json:"task_id"`
	NamedStepID           int64      `json:"named_step_id"`
	Name                  string     `json:"name"`
	CurrentState          StepState  `json:"current_state"`
	DependenciesSatisfied bool       `json:"dependencies_satisfied"`
	RetryEligible         bool       `json:"retry_eligible"`
	ReadyForExecution     bool       `json:"ready_for_execution"`
	LastFailureAt         *time.Time `json:"last_failure_at"`
	NextRetryAt           *time.Time `json:"next_retry_at"`
	TotalParents          int        `json:"total_parents"`
	CompletedParents      int        `json:"completed_parents"`
	Attempts              int        `json:"attempts"`
	RetryLimit            int        `json:"retry_limit"`
	BackoffRequestSeconds *float64   `json:"backoff_request_seconds"`
	LastAttemptedAt       *time.Time `json:"last_attempted_at"`
}

// ExecutionStatus summarises what a task can do next.
type ExecutionStatus string

const (
	ExecHasReadySteps          ExecutionStatus = "has_ready_steps"
	ExecProcessing             ExecutionStatus = "processing"
	ExecBlockedByFailures      ExecutionStatus = "blocked_by_failures"
	ExecAllComplete            ExecutionStatus = "all_complete"
	ExecWaitingForDependencies ExecutionStatus = "waiting_for_dependencies"
	ExecCancelled              ExecutionStatus = "cancelled"
)

// TaskExecutionContext is the row of get_task_execution_context.
type TaskExecutionContext struct {
	TaskID                  int64           `json:"task_id"`
	NamedTaskID             int64           `json:"named_task_id"`
	Status                  TaskState       `json:"status"`
	TotalSteps              int             `json:"total_steps"`
	PendingSteps            int             `json:"pending_steps"`
	InProgressSteps         int             `json:"in_progress_steps"`
	CompletedSteps          int             `json:"completed_steps"`
	FailedSteps             int             `json:"failed_steps"`
	WaitingForRetrySteps    int             `json:"waiting_for_retry_steps"`
	ReadySteps              int             `json:"ready_steps"`
	PermanentlyBlockedSteps int             `json:"permanently_blocked_steps"`
	ExecutionStatus         ExecutionStatus `json:"execution_status"`
	RecommendedAction       string          `json:"recommended_action"`
	CompletionPercentage    float64         `json:"completion_percentage"`
	HealthStatus            string          `json:"health_status"`
}

// DependencyLevel is one row of calculate_dependency_levels.
type DependencyLevel struct {
	WorkflowStepID  int64 `json:"workflow_step_id"`
	DependencyLevel int   `json:"dependency_level"`
}
