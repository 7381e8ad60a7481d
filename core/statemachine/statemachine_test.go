package statemachine

import (
	"testing"

	"github.com/stretchr/testify/require"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

func TestEveryStateHasARow(t *testing.T) {
	t.Parallel()
	for _, s := range tt.StepStates() {
		_, ok := stepTransitions[s]
		require.True(t, ok, "step state %s missing from the table", s)
	}
	for _, s := range tt.TaskStates() {
		_, ok := taskTransitions[s]
		require.True(t, ok, "task state %s missing from the table", s)
	}
}

func TestStepTransitions(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckStep(1, tt.StepPending, tt.StepInProgress))
	require.NoError(t, CheckStep(1, tt.StepWaitingForRetry, tt.StepInProgress))
	require.NoError(t, CheckStep(1, tt.StepError, tt.StepPending))

	err := CheckStep(7, tt.StepComplete, tt.StepInProgress)
	var ite *tt.InvalidTransitionError
	require.ErrorAs(t, err, &ite)
	require.Equal(t, "step 7 cannot go from complete to in_progress", err.Error())
	require.Equal(t, tt.CodeInvalidTransition, tt.CodeOf(err))

	require.Error(t, CheckStep(1, tt.StepError, tt.StepInProgress), "an errored step needs an operator retry first")
	require.Error(t, CheckStep(1, tt.StepPending, tt.StepPending), "same-state transitions are illegal")
	require.True(t, StepTerminal(tt.StepComplete))
	require.False(t, StepTerminal(tt.StepError))
}

func TestSources(t *testing.T) {
	t.Parallel()
	require.ElementsMatch(t, []string{"pending", "waiting_for_retry"}, StepSources(tt.StepInProgress))
	require.ElementsMatch(t, []string{"in_progress"}, StepSources(tt.StepComplete))
	require.ElementsMatch(t, []string{"pending", "in_progress", "error"}, TaskSources(tt.TaskCancelled))
}

func TestTaskTransitions(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckTask(1, tt.TaskPending, tt.TaskInProgress))
	require.NoError(t, CheckTask(1, tt.TaskError, tt.TaskPending))
	require.Error(t, CheckTask(1, tt.TaskComplete, tt.TaskPending))
	require.Error(t, CheckTask(1, tt.TaskCancelled, tt.TaskInProgress))
}
