package statemachine

import (
	"testing"

	"github.com/stretchr/testify/require"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

func TestEveryStateIsReachableAndNamed(t *testing.T) {
	t.Parallel()
	stepTo := map[string]bool{string(tt.StepPending): true}
	taskTo := map[string]bool{string(tt.TaskPending): true}
	for _, r := range Rules() {
		switch r.Entity {
		case "step":
			require.Contains(t, tt.StepStates(), tt.StepState(r.From), "%+v", r)
			require.Contains(t, tt.StepStates(), tt.StepState(r.To), "%+v", r)
			stepTo[r.To] = true
		case "task":
			require.Contains(t, tt.TaskStates(), tt.TaskState(r.From), "%+v", r)
			require.Contains(t, tt.TaskStates(), tt.TaskState(r.To), "%+v", r)
			taskTo[r.To] = true
		default:
			t.Fatalf("rule of entity %q", r.Entity)
		}
		require.NotEqual(t, r.From, r.To, "same-state moves are no transitions: %+v", r)
	}
	for _, s := range tt.StepStates() {
		require.True(t, stepTo[string(s)], "no event leads a step to %s", s)
	}
	for _, s := range tt.TaskStates() {
		if s == tt.TaskResolvedManually {
			continue // the original's state; no operation of this engine resolves a whole task
		}
		require.True(t, taskTo[string(s)], "no event leads a task to %s", s)
	}
}

func TestStepMovesByEvent(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckStep(1, EventExecutionRequested, tt.StepPending, tt.StepInProgress))
	require.NoError(t, CheckStep(1, EventExecutionRequested, tt.StepWaitingForRetry, tt.StepInProgress))
	require.NoError(t, CheckStep(1, EventRetryRequested, tt.StepError, tt.StepPending))
	require.NoError(t, CheckStep(1, EventFailed, tt.StepInProgress, tt.StepError))

	err := CheckStep(7, EventExecutionRequested, tt.StepComplete, tt.StepInProgress)
	var ite *tt.InvalidTransitionError
	require.ErrorAs(t, err, &ite)
	require.Equal(t, "step 7 cannot go from complete to in_progress", err.Error())
	require.Equal(t, tt.CodeInvalidTransition, tt.CodeOf(err))

	// The event decides: in_progress → pending is a release, never a retry.
	require.NoError(t, CheckStep(1, EventReleased, tt.StepInProgress, tt.StepPending))
	require.Error(t, CheckStep(1, EventRetryRequested, tt.StepInProgress, tt.StepPending))
	require.Error(t, CheckStep(1, EventCompleted, tt.StepInProgress, tt.StepError))
	require.Error(t, CheckStep(1, Event("made_up"), tt.StepPending, tt.StepInProgress))
	require.Error(t, CheckStep(1, EventExecutionRequested, tt.StepError, tt.StepInProgress), "an errored step needs an operator retry first")
	require.True(t, StepTerminal(tt.StepComplete))
	require.False(t, StepTerminal(tt.StepError))
}

func TestSources(t *testing.T) {
	t.Parallel()
	require.ElementsMatch(t, []string{"pending", "waiting_for_retry"}, StepSources(EventExecutionRequested))
	require.ElementsMatch(t, []string{"in_progress"}, StepSources(EventCompleted))
	require.ElementsMatch(t, []string{"pending", "in_progress", "error"}, TaskSources(EventCancelled))
	require.ElementsMatch(t, []string{"error"}, TaskSources(EventRetryRequested))
	require.Empty(t, TaskSources(Event("made_up")))
}

func TestTaskMovesByEvent(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckTask(1, EventStartRequested, tt.TaskPending, tt.TaskInProgress))
	require.NoError(t, CheckTask(1, EventRetryRequested, tt.TaskError, tt.TaskPending))
	require.Error(t, CheckTask(1, EventRetryRequested, tt.TaskInProgress, tt.TaskPending), "a running task is not retried")
	require.Error(t, CheckTask(1, EventRetryRequested, tt.TaskComplete, tt.TaskPending))
	require.Error(t, CheckTask(1, EventCancelled, tt.TaskCancelled, tt.TaskCancelled))
	require.True(t, TaskAllowed(tt.TaskPending, tt.TaskInProgress))
	require.False(t, TaskAllowed(tt.TaskInProgress, tt.TaskPending))
}
