package engine_test

import (
	"context"
	"testing"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// A task's history as the dashboard shows it: the task's states in order,
// each step attempt with its error, and an operator's retry with its reason.
func TestTaskTransitions(t *testing.T) {
	t.Parallel()
	b := setupOps(t)
	ctx := context.Background()
	id := b.start(t, "alpha")
	b.run(t, id, false)
	_, err := b.e.RetryTask(ctx, &tt.RetryTaskParams{TaskID: id, Reason: "card processor back"})
	require.NoError(t, err)
	b.run(t, id, true)

	h, err := b.e.TaskTransitions(ctx, id)
	require.NoError(t, err)
	require.Equal(t, id, h.TaskID)
	require.False(t, h.Truncated)

	var taskStates []string
	for i, tr := range h.Task {
		require.Nil(t, tr.WorkflowStepID)
		require.Equal(t, i, tr.SortKey)
		taskStates = append(taskStates, tr.ToState)
	}
	require.Equal(t, []string{"pending", "in_progress", "error", "pending", "in_progress", "complete"}, taskStates)
	var retry map[string]any
	require.NoError(t, json.Unmarshal(h.Task[3].Metadata, &retry))
	require.Equal(t, "card processor back", retry["reason"], "the operator's reason is kept: %s", h.Task[3].Metadata)

	var stepStates []string
	var failure map[string]any
	for i, tr := range h.Steps {
		require.NotNil(t, tr.WorkflowStepID)
		require.Equal(t, "alpha_step", tr.StepName)
		if i > 0 {
			require.False(t, tr.CreatedAt.Before(h.Steps[i-1].CreatedAt), "oldest first")
		}
		stepStates = append(stepStates, tr.ToState)
		if tr.ToState == "error" {
			require.NoError(t, json.Unmarshal(tr.Metadata, &failure))
		}
	}
	require.Equal(t, []string{"pending", "in_progress", "error", "pending", "in_progress", "complete"}, stepStates)
	require.Equal(t, "Boom", failure["error_class"])
	require.Equal(t, "boom", failure["error_message"])

	_, err = b.e.TaskTransitions(ctx, id+1000)
	var nf *tt.NotFoundError
	require.ErrorAs(t, err, &nf)
	_, err = b.e.TaskTransitions(ctx, 0)
	require.Equal(t, tt.CodeValidation, tt.CodeOf(err))
}
