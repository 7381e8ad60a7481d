package engine_test

import (
	"context"
	"testing"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// A worker shutting down gives back a step it claimed: the step is ready
// again at once, the attempt does not count, and the old token is stale.
func TestReleaseStepGivesTheAttemptBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, taskertest.OrderFulfillmentWorkflow(ns), nil)

	first, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 10, WorkerID: "stopping"})
	require.NoError(t, err)
	require.Len(t, first.Steps, 1)
	s := first.Steps[0]
	require.Equal(t, 1, s.Attempts)

	res, err := e.ReleaseStep(ctx, &tt.ReleaseParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Reason: "worker shutdown"})
	require.NoError(t, err)
	require.Equal(t, tt.StepPending, res.Status)
	require.Equal(t, 0, res.Attempts)

	_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: json.RawMessage(`{}`)})
	requireCode(t, err, tt.CodeStaleClaim, "the released claim's token no longer holds the step")
	_, err = e.ReleaseStep(ctx, &tt.ReleaseParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken})
	requireCode(t, err, tt.CodeStaleClaim)

	again, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 10, WorkerID: "next"})
	require.NoError(t, err)
	require.Len(t, again.Steps, 1)
	require.Equal(t, s.WorkflowStepID, again.Steps[0].WorkflowStepID)
	require.Equal(t, 1, again.Steps[0].Attempts, "the released attempt was given back")

	rows := stepTransitions(t, s.WorkflowStepID)
	requireWellFormed(t, rows)
	require.Equal(t, []string{"pending", "in_progress", "pending", "in_progress"}, toStates(rows))

	_, err = e.ReleaseStep(ctx, &tt.ReleaseParams{StepID: s.WorkflowStepID, ClaimToken: "not-a-uuid"})
	requireCode(t, err, tt.CodeValidation)
	st, err := e.TaskStatus(ctx, init.TaskID)
	require.NoError(t, err)
	require.Equal(t, tt.TaskInProgress, st.Status)
}
