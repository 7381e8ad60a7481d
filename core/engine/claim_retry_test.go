package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// A claim holds step locks, so it must never wait for a task row: an operator
// action (cancel, resolve) holds the task and then waits for its steps, and
// the two would deadlock. While another transaction holds the task row, the
// claim still returns at once with the step; the task is started by the
// step's report instead.
func TestClaimNeverWaitsForALockedTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	spec := &tt.TemplateSpec{Namespace: ns, Name: "single", Version: "1.0.0", Steps: []tt.StepSpec{{Name: "only", Handler: "Only"}}}
	init := taskertest.Start(t, e, spec, nil)

	pool := taskertest.Pool(t)
	other, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = other.Rollback(ctx) }()
	_, err = other.Exec(ctx, `SELECT 1 FROM tasker_tasks WHERE task_id = $1 FOR UPDATE`, init.TaskID)
	require.NoError(t, err)

	claimCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	claim, err := e.ClaimSteps(claimCtx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 10, WorkerID: "w1"})
	require.NoError(t, err, "the claim must not wait for the locked task row")
	require.Len(t, claim.Steps, 1)
	require.NoError(t, other.Rollback(ctx))

	st, err := e.TaskStatus(ctx, init.TaskID)
	require.NoError(t, err)
	require.Equal(t, tt.TaskPending, st.Status, "the claim skipped starting the locked task")

	res, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: claim.Steps[0].WorkflowStepID, ClaimToken: claim.Steps[0].ClaimToken, Results: json.RawMessage(`{}`)})
	require.NoError(t, err)
	require.Equal(t, tt.TaskComplete, res.TaskStatus)
	require.Equal(t, []string{"pending", "in_progress", "complete"}, toStates(taskTransitions(t, init.TaskID)),
		"the report started the task before completing it")
}
