package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/backoff"
	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

type execPoint struct {
	status     tt.TaskState
	exec       tt.ExecutionStatus
	action     string
	health     string
	percent    float64
	pending    int
	inProgress int
	completed  int
	failed     int
	waiting    int
	ready      int
}

func requireExec(t *testing.T, e *engine.Engine, taskID int64, label string, want execPoint) {
	t.Helper()
	got, err := e.TaskExecutionContext(context.Background(), taskID)
	require.NoError(t, err, label)
	require.Equal(t, taskID, got.TaskID, label)
	require.Equal(t, 4, got.TotalSteps, label)
	require.Equal(t, want, execPoint{
		status: got.Status, exec: got.ExecutionStatus, action: got.RecommendedAction, health: got.HealthStatus,
		percent: got.CompletionPercentage, pending: got.PendingSteps, inProgress: got.InProgressSteps,
		completed: got.CompletedSteps, failed: got.FailedSteps, waiting: got.WaitingForRetrySteps, ready: got.ReadySteps,
	}, label)
	require.Equal(t, got.FailedSteps, got.PermanentlyBlockedSteps, label)
}

// get_task_execution_context at each point of two runs of the four-step
// diamond.
func TestTaskExecutionContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A long backoff keeps a failed step waiting while we look.
	e, err := engine.New(taskertest.Pool(t), engine.Config{Backoff: &backoff.Config{Base: time.Hour, Multiplier: 1, Max: time.Hour}})
	require.NoError(t, err)
	ns := taskertest.Namespace(t)
	spec := taskertest.SimpleDiamondWorkflow(ns)

	claim := func(taskID int64, name string, init *tt.InitializeResult) tt.ClaimedStep {
		t.Helper()
		s, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: init.StepMapping[name], WorkerID: "w"})
		require.NoError(t, err, name)
		return *s
	}
	complete := func(s tt.ClaimedStep) {
		t.Helper()
		_, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: json.RawMessage(`{}`)})
		require.NoError(t, err, s.StepName)
	}
	fail := func(s tt.ClaimedStep, permanent bool) {
		t.Helper()
		_, err := e.FailStep(ctx, &tt.FailParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Error: tt.StepFailure{Message: "x"}, Permanent: permanent})
		require.NoError(t, err, s.StepName)
	}

	// Run 1: a happy start, then a retryable failure waiting for backoff.
	one := taskertest.Start(t, e, spec, nil)
	id := one.TaskID
	requireExec(t, e, id, "new", execPoint{tt.TaskPending, tt.ExecHasReadySteps, "execute_ready_steps", "healthy", 0, 4, 0, 0, 0, 0, 1})
	start := claim(id, "diamond_start", one)
	requireExec(t, e, id, "start claimed", execPoint{tt.TaskInProgress, tt.ExecProcessing, "wait_for_completion", "healthy", 0, 3, 1, 0, 0, 0, 0})
	complete(start)
	requireExec(t, e, id, "start done", execPoint{tt.TaskInProgress, tt.ExecHasReadySteps, "execute_ready_steps", "healthy", 25, 3, 0, 1, 0, 0, 2})
	b := claim(id, "diamond_branch_b", one)
	c := claim(id, "diamond_branch_c", one)
	requireExec(t, e, id, "branches claimed", execPoint{tt.TaskInProgress, tt.ExecProcessing, "wait_for_completion", "healthy", 25, 1, 2, 1, 0, 0, 0})
	complete(c)
	fail(b, false)
	requireExec(t, e, id, "b waits for retry", execPoint{tt.TaskInProgress, tt.ExecWaitingForDependencies, "wait_for_dependencies", "healthy", 50, 1, 0, 2, 0, 1, 0})

	// Run 2: a permanent failure, the task blocked, an operator resolves it.
	two := taskertest.Start(t, e, spec, nil)
	id = two.TaskID
	complete(claim(id, "diamond_start", two))
	fail(claim(id, "diamond_branch_b", two), true)
	requireExec(t, e, id, "b failed, c ready", execPoint{tt.TaskInProgress, tt.ExecHasReadySteps, "execute_ready_steps", "recovering", 25, 2, 0, 1, 1, 0, 1})
	c = claim(id, "diamond_branch_c", two)
	requireExec(t, e, id, "b failed, c running", execPoint{tt.TaskInProgress, tt.ExecProcessing, "wait_for_completion", "recovering", 25, 1, 1, 1, 1, 0, 0})
	complete(c)
	requireExec(t, e, id, "blocked", execPoint{tt.TaskError, tt.ExecBlockedByFailures, "handle_failures", "blocked", 50, 1, 0, 2, 1, 0, 0})
	_, err = e.ResolveStep(ctx, &tt.ResolveStepParams{StepID: two.StepMapping["diamond_branch_b"]})
	require.NoError(t, err)
	requireExec(t, e, id, "resolved", execPoint{tt.TaskPending, tt.ExecHasReadySteps, "execute_ready_steps", "healthy", 75, 1, 0, 3, 0, 0, 1})
	complete(claim(id, "diamond_end", two))
	requireExec(t, e, id, "complete", execPoint{tt.TaskComplete, tt.ExecAllComplete, "finalize_task", "healthy", 100, 0, 0, 4, 0, 0, 0})

	_, err = e.TaskExecutionContext(ctx, 1<<60)
	requireCode(t, err, tt.CodeNotFound)
}

func TestDependencyLevels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	cases := []struct {
		spec *tt.TemplateSpec
		want map[string]int
	}{
		{taskertest.TreeWorkflow(ns), map[string]int{
			"root": 0, "setup_left": 1, "setup_right": 1,
			"leaf_left_1": 2, "leaf_left_2": 2, "leaf_right_1": 2, "leaf_right_2": 2,
			"aggregate_results": 3,
		}},
		// A child is one deeper than its deepest parent.
		{taskertest.MixedDAGWorkflow(ns), map[string]int{
			"init_auth": 0, "init_config": 0, "validate_permissions": 1, "setup_environment": 1,
			"begin_processing": 2, "cleanup_temp_files": 2, "process_critical": 3, "process_optional": 3,
			"finalize_and_report": 4,
		}},
	}
	for _, c := range cases {
		init := taskertest.Start(t, e, c.spec, nil)
		levels, err := e.DependencyLevels(ctx, init.TaskID)
		require.NoError(t, err)
		byID := map[int64]string{}
		for name, id := range init.StepMapping {
			byID[id] = name
		}
		got := map[string]int{}
		prev := 0
		for _, l := range levels {
			got[byID[l.WorkflowStepID]] = l.DependencyLevel
			require.GreaterOrEqual(t, l.DependencyLevel, prev, "ordered by level")
			prev = l.DependencyLevel
		}
		require.Equal(t, c.want, got, c.spec.Name)
	}
	_, err := e.DependencyLevels(ctx, 1<<60)
	requireCode(t, err, tt.CodeNotFound)
}
