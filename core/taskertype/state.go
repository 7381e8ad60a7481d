package taskertype

// StepState is the state of one workflow step. The current state is the
// most recent row of tasker_workflow_step_transitions, mirrored in the step's
// status column.
type StepState string

const (
	// StepPending is where every step starts. It leaves by a claim
	// (in_progress), cancellation, manual resolution or an operator error.
	StepPending StepState = "pending"
	// StepInProgress is a step claimed by a worker under a lease. It leaves by
	// completion, failure (waiting_for_retry or error), lease expiry or
	// cancellation.
	StepInProgress StepState = "in_progress"
	// StepWaitingForRetry is a step whose attempt failed with a retryable error
	// and that still has attempts left. It is claimable again once its backoff
	// (next_retry_at) has passed.
	StepWaitingForRetry StepState = "waiting_for_retry"
	// StepComplete is terminal: the handler's results are stored.
	StepComplete StepState = "complete"
	// StepError is a permanent or exhausted failure. Only an operator moves it
	// on: retry (back to pending) or manual resolution.
	StepError StepState = "error"
	// StepCancelled is terminal: its task was cancelled.
	StepCancelled StepState = "cancelled"
	// StepResolvedManually is terminal and counts as done for its children.
	StepResolvedManually StepState = "resolved_manually"
)

// StepStates lists every step state.
func StepStates() []StepState {
	return []StepState{StepPending, StepInProgress, StepWaitingForRetry, StepComplete, StepError, StepCancelled, StepResolvedManually}
}

// Done reports whether the step counts as finished for its children.
func (s StepState) Done() bool { return s == StepComplete || s == StepResolvedManually }

// TaskState is the state of a task, mirrored in tasker_tasks.status.
type TaskState string

const (
	// TaskPending is a new task, or one an operator retried. The first claim
	// of one of its steps moves it to in_progress.
	TaskPending TaskState = "pending"
	// TaskInProgress is a task with at least one step claimed. It finishes as
	// complete, or as error once nothing else can make progress.
	TaskInProgress TaskState = "in_progress"
	// TaskComplete is terminal: every step is complete or resolved manually.
	TaskComplete TaskState = "complete"
	// TaskError is a task blocked by failed steps. An operator retry moves it
	// back to pending; resolving its failed steps lets it go on.
	TaskError TaskState = "error"
	// TaskCancelled is terminal: nothing of it is claimed afterwards.
	TaskCancelled TaskState = "cancelled"
	// TaskResolvedManually is terminal, set by an operator.
	TaskResolvedManually TaskState = "resolved_manually"
)

// TaskStates lists every task state.
func TaskStates() []TaskState {
	return []TaskState{TaskPending, TaskInProgress, TaskComplete, TaskError, TaskCancelled, TaskResolvedManually}
}

// IdentityStrategy decides how a task's identity hash is computed, and so which
// requests count as duplicates.
type IdentityStrategy string

const (
	// IdentityStrict hashes the template and the context: the same context for
	// the same template version is the same task. The default.
	IdentityStrict IdentityStrategy = "strict"
	// IdentityCallerProvided hashes the template and the request's
	// idempotency_key, which is then required.
	IdentityCallerProvided IdentityStrategy = "caller_provided"
	// IdentityAlwaysUnique never deduplicates.
	IdentityAlwaysUnique IdentityStrategy = "always_unique"
)

// Valid reports whether s is a known strategy.
func (s IdentityStrategy) Valid() bool {
	return s == IdentityStrict || s == IdentityCallerProvided || s == IdentityAlwaysUnique
}
