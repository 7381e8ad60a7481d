package engine_test

import (
	"context"
	"testing"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Cancelling a task mid-flight cancels every unfinished step, keeps the
// finished ones, makes the worker holding a step stale, and nothing of the
// task is claimed afterwards.
func TestCancelTaskMidFlight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, taskertest.DiamondWorkflow(ns), nil)

	start := claimOne(t, e, ns, "w1", 0)
	require.Equal(t, "start", start.StepName)
	_, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: start.WorkflowStepID, ClaimToken: start.ClaimToken, Results: json.RawMessage(`{"s":1}`)})
	require.NoError(t, err)
	claim, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 1, WorkerID: "w1"})
	require.NoError(t, err)
	require.Len(t, claim.Steps, 1)
	held := claim.Steps[0]

	st, err := e.CancelTask(ctx, &tt.CancelTaskParams{TaskID: init.TaskID, Reason: "customer changed their mind"})
	require.NoError(t, err)
	require.Equal(t, tt.TaskCancelled, st.Status)
	for _, s := range st.Steps {
		switch s.Name {
		case "start":
			require.Equal(t, tt.StepComplete, s.Status, "finished steps stay finished")
			requireJSONEqual(t, []byte(`{"s":1}`), s.Results)
		default:
			require.Equal(t, tt.StepCancelled, s.Status, s.Name)
			require.False(t, s.InProcess, s.Name)
		}
	}

	_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: held.WorkflowStepID, ClaimToken: held.ClaimToken, Results: json.RawMessage(`{"late":true}`)})
	requireCode(t, err, tt.CodeStaleClaim)
	var sce *tt.StaleClaimError
	require.ErrorAs(t, err, &sce)
	require.Equal(t, tt.StepCancelled, sce.Status)
	_, err = e.Heartbeat(ctx, &tt.HeartbeatParams{StepID: held.WorkflowStepID, ClaimToken: held.ClaimToken})
	requireCode(t, err, tt.CodeStaleClaim)
	claimNone(t, e, ns, "w2")

	_, err = e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: init.StepMapping["merge_branches"], WorkerID: "w2"})
	requireCode(t, err, tt.CodeNotReady)

	st, err = e.TaskStatus(ctx, init.TaskID)
	require.NoError(t, err)
	require.Nil(t, stepsByName(st)[held.StepName].Results, "the stale report stored nothing")
	require.Equal(t, []string{"pending", "in_progress", "cancelled"}, toStates(taskTransitions(t, init.TaskID)))
	heldRows := stepTransitions(t, held.WorkflowStepID)
	requireWellFormed(t, heldRows)
	require.Equal(t, []string{"pending", "in_progress", "cancelled"}, toStates(heldRows))

	ctxRow, err := e.TaskExecutionContext(ctx, init.TaskID)
	require.NoError(t, err)
	require.Equal(t, tt.ExecCancelled, ctxRow.ExecutionStatus)

	// A cancelled task cannot be cancelled or retried again.
	_, err = e.CancelTask(ctx, &tt.CancelTaskParams{TaskID: init.TaskID})
	requireCode(t, err, tt.CodeInvalidTransition)
	_, err = e.RetryTask(ctx, &tt.RetryTaskParams{TaskID: init.TaskID})
	requireCode(t, err, tt.CodeInvalidTransition)
}

// Retrying a failed task puts its errored steps back to pending with no
// attempts, the task back to pending, and it then runs to completion.
func TestRetryFailedTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	spec := taskertest.LinearWorkflow(ns)
	init := taskertest.Start(t, e, spec, nil)

	broken := true
	handler := func(s tt.ClaimedStep) (any, *taskertest.Failure) {
		if s.StepName == "transform_results" && broken {
			return nil, &taskertest.Failure{Class: "Broken", Message: "downstream is down"}
		}
		return map[string]any{"step": s.StepName}, nil
	}
	d := taskertest.Drive(t, e, ns, []int64{init.TaskID}, handler)
	require.Equal(t, tt.TaskError, d.Tasks[init.TaskID].Status)
	require.Equal(t, 3, d.RunsOf(t, init.TaskID, "transform_results"))

	st, err := e.RetryTask(ctx, &tt.RetryTaskParams{TaskID: init.TaskID, Reason: "downstream is back"})
	require.NoError(t, err)
	require.Equal(t, tt.TaskPending, st.Status)
	steps := stepsByName(st)
	tr := steps["transform_results"]
	require.Equal(t, tt.StepPending, tr.Status)
	require.Zero(t, tr.Attempts)
	require.False(t, tr.InProcess)
	require.False(t, tr.Processed)
	require.Nil(t, tr.NextRetryAt)
	for _, n := range []string{"initialize_data", "validate_input", "process_data"} {
		require.Equal(t, tt.StepComplete, steps[n].Status, "%s is not rerun", n)
	}
	readiness, err := e.StepReadiness(ctx, init.TaskID, []int64{tr.WorkflowStepID})
	require.NoError(t, err)
	require.Len(t, readiness, 1)
	require.True(t, readiness[0].ReadyForExecution)

	broken = false
	d = taskertest.Drive(t, e, ns, []int64{init.TaskID}, handler)
	st = d.Tasks[init.TaskID]
	require.Equal(t, tt.TaskComplete, st.Status)
	require.Equal(t, 1, d.RunsOf(t, init.TaskID, "transform_results"))
	require.Equal(t, 1, d.Step(t, init.TaskID, "transform_results").Attempts)
	require.Equal(t, 1, d.RunsOf(t, init.TaskID, "finalize_workflow"))
	require.Zero(t, d.RunsOf(t, init.TaskID, "process_data"))
	for _, s := range st.Steps {
		require.Equal(t, tt.StepComplete, s.Status, s.Name)
	}
	rows := taskTransitions(t, init.TaskID)
	requireWellFormed(t, rows)
	require.Equal(t, []string{"pending", "in_progress", "error", "pending", "in_progress", "complete"}, toStates(rows))
	trRows := stepTransitions(t, tr.WorkflowStepID)
	requireWellFormed(t, trRows)
	require.Equal(t, []string{"pending", "in_progress", "waiting_for_retry", "in_progress", "waiting_for_retry",
		"in_progress", "error", "pending", "in_progress", "complete"}, toStates(trRows))
}

// Resolving a failed step manually lets its children proceed; the task goes
// from error back through pending to complete.
func TestResolveFailedStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, taskertest.SimpleDiamondWorkflow(ns), nil)

	// The join asks for its grandparent's results, which its claim lacks.
	var startSeenByEnd json.RawMessage
	handler := func(s tt.ClaimedStep) (any, *taskertest.Failure) {
		switch s.StepName {
		case "diamond_branch_b":
			return nil, &taskertest.Failure{Class: "Fatal", Message: "no", Permanent: true}
		case "diamond_end":
			anc, err := e.AncestorResults(ctx, &tt.AncestorResultsParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken,
				Names: []string{"diamond_start"}})
			require.NoError(t, err)
			startSeenByEnd = anc["diamond_start"]
		}
		return map[string]any{"step": s.StepName}, nil
	}
	d := taskertest.Drive(t, e, ns, []int64{init.TaskID}, handler)
	require.Equal(t, tt.TaskError, d.Tasks[init.TaskID].Status)
	require.Equal(t, tt.StepComplete, d.Step(t, init.TaskID, "diamond_branch_c").Status)
	require.Equal(t, tt.StepPending, d.Step(t, init.TaskID, "diamond_end").Status)

	ctxRow, err := e.TaskExecutionContext(ctx, init.TaskID)
	require.NoError(t, err)
	require.Equal(t, tt.ExecBlockedByFailures, ctxRow.ExecutionStatus)

	res, err := e.ResolveStep(ctx, &tt.ResolveStepParams{StepID: init.StepMapping["diamond_branch_b"], Reason: "fixed by hand",
		Results: json.RawMessage(`{"resolved":"by operator"}`)})
	require.NoError(t, err)
	require.Equal(t, tt.StepResolvedManually, res.Status)
	require.Equal(t, tt.TaskPending, res.TaskStatus, "the task can progress again")

	d = taskertest.Drive(t, e, ns, []int64{init.TaskID}, handler)
	st := d.Tasks[init.TaskID]
	require.Equal(t, tt.TaskComplete, st.Status)
	require.Len(t, d.Log, 1)
	end := d.Log[0].Step
	require.Equal(t, "diamond_end", end.StepName)
	requireJSONEqual(t, []byte(`{"resolved":"by operator"}`), end.DependencyResults["diamond_branch_b"])
	requireJSONEqual(t, []byte(`{"step":"diamond_branch_c"}`), end.DependencyResults["diamond_branch_c"])
	require.Len(t, end.DependencyResults, 2, "the claim carries the direct parents")
	requireJSONEqual(t, []byte(`{"step":"diamond_start"}`), startSeenByEnd, "the grandparent on request")
	steps := stepsByName(st)
	require.Equal(t, tt.StepResolvedManually, steps["diamond_branch_b"].Status)
	require.Equal(t, 1, steps["diamond_branch_b"].Attempts)

	rows := taskTransitions(t, init.TaskID)
	requireWellFormed(t, rows)
	require.Equal(t, []string{"pending", "in_progress", "error", "pending", "in_progress", "complete"}, toStates(rows))
	bRows := stepTransitions(t, init.StepMapping["diamond_branch_b"])
	requireWellFormed(t, bRows)
	require.Equal(t, []string{"pending", "in_progress", "error", "resolved_manually"}, toStates(bRows))

	// A finished step cannot be resolved.
	_, err = e.ResolveStep(ctx, &tt.ResolveStepParams{StepID: init.StepMapping["diamond_end"]})
	requireCode(t, err, tt.CodeInvalidTransition)
}

// Resolving the last failed step of a task whose other steps are all done
// completes the task at once.
func TestResolveLastStepCompletesTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, taskertest.OrderFulfillmentWorkflow(ns), nil)
	d := taskertest.Drive(t, e, ns, []int64{init.TaskID}, func(s tt.ClaimedStep) (any, *taskertest.Failure) {
		if s.StepName == "ship_order" {
			return nil, &taskertest.Failure{Message: "carrier rejected", Permanent: true}
		}
		return map[string]any{"ok": true}, nil
	})
	require.Equal(t, tt.TaskError, d.Tasks[init.TaskID].Status)
	res, err := e.ResolveStep(ctx, &tt.ResolveStepParams{StepID: init.StepMapping["ship_order"]})
	require.NoError(t, err)
	require.Equal(t, tt.TaskComplete, res.TaskStatus)
	st, err := e.TaskStatus(ctx, init.TaskID)
	require.NoError(t, err)
	require.Equal(t, tt.TaskComplete, st.Status)
	require.True(t, st.Complete)
	require.Equal(t, []string{"pending", "in_progress", "error", "pending", "in_progress", "complete"}, toStates(taskTransitions(t, init.TaskID)))
}

func TestOperatorInvalidTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)

	// A complete task can be neither cancelled nor retried.
	done := taskertest.Start(t, e, taskertest.SimpleDiamondWorkflow(ns), nil)
	taskertest.Drive(t, e, ns, []int64{done.TaskID}, taskertest.Succeed)
	_, err := e.CancelTask(ctx, &tt.CancelTaskParams{TaskID: done.TaskID})
	requireCode(t, err, tt.CodeInvalidTransition)
	var ite *tt.InvalidTransitionError
	require.ErrorAs(t, err, &ite)
	require.Equal(t, "task", ite.Entity)
	require.Equal(t, done.TaskID, ite.ID)
	require.Equal(t, "complete", ite.From)
	require.Equal(t, "cancelled", ite.To)
	_, err = e.RetryTask(ctx, &tt.RetryTaskParams{TaskID: done.TaskID})
	requireCode(t, err, tt.CodeInvalidTransition)

	// A pending task is not in error: nothing to retry.
	fresh := taskertest.Start(t, e, taskertest.SimpleDiamondWorkflow(ns), nil)
	_, err = e.RetryTask(ctx, &tt.RetryTaskParams{TaskID: fresh.TaskID})
	requireCode(t, err, tt.CodeInvalidTransition)

	s := claimOne(t, e, ns, "w1", 0)
	require.Equal(t, fresh.TaskID, s.TaskID)

	// Unknown ids.
	_, err = e.CancelTask(ctx, &tt.CancelTaskParams{TaskID: 1 << 60})
	requireCode(t, err, tt.CodeNotFound)
	_, err = e.RetryTask(ctx, &tt.RetryTaskParams{TaskID: 1 << 60})
	requireCode(t, err, tt.CodeNotFound)
	_, err = e.ResolveStep(ctx, &tt.ResolveStepParams{StepID: 1 << 60})
	requireCode(t, err, tt.CodeNotFound)
	_, err = e.CancelTask(ctx, &tt.CancelTaskParams{TaskID: 0})
	requireCode(t, err, tt.CodeValidation)

	// A step a worker holds cannot be resolved under it.
	_, err = e.ResolveStep(ctx, &tt.ResolveStepParams{StepID: s.WorkflowStepID})
	requireCode(t, err, tt.CodeInvalidTransition)
	_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken})
	require.NoError(t, err)
}

// Only a task in error is retried. The task state machine allows
// in_progress → pending, so RetryTask once accepted a running task: it
// flipped to pending under its workers, and a step already in error was reset
// while its siblings still ran.
func TestRetryTaskInProgressIsInvalid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, taskertest.SimpleDiamondWorkflow(ns), nil)
	s := claimOne(t, e, ns, "w1", 0)
	require.Equal(t, init.TaskID, s.TaskID)
	_, err := e.RetryTask(ctx, &tt.RetryTaskParams{TaskID: init.TaskID})
	requireCode(t, err, tt.CodeInvalidTransition, "retrying a task in progress")
	st, err := e.TaskStatus(ctx, init.TaskID)
	require.NoError(t, err)
	require.Equal(t, tt.TaskInProgress, st.Status)

	// Nor while a step is in error but a sibling still runs: the task is not
	// in error yet.
	_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken})
	require.NoError(t, err)
	claim, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 10, WorkerID: "w1"})
	require.NoError(t, err)
	require.Len(t, claim.Steps, 2)
	failed, running := claim.Steps[0], claim.Steps[1]
	res, err := e.FailStep(ctx, &tt.FailParams{StepID: failed.WorkflowStepID, ClaimToken: failed.ClaimToken, Error: tt.StepFailure{Message: "x"}, Permanent: true})
	require.NoError(t, err)
	require.Equal(t, tt.TaskInProgress, res.TaskStatus, "a sibling still runs")
	_, err = e.RetryTask(ctx, &tt.RetryTaskParams{TaskID: init.TaskID})
	requireCode(t, err, tt.CodeInvalidTransition, "retrying a task in progress with a failed step")
	st, err = e.TaskStatus(ctx, init.TaskID)
	require.NoError(t, err)
	require.Equal(t, tt.StepError, stepsByName(st)[failed.StepName].Status)

	// Once the sibling finishes, the task is in error and can be retried.
	res, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: running.WorkflowStepID, ClaimToken: running.ClaimToken})
	require.NoError(t, err)
	require.Equal(t, tt.TaskError, res.TaskStatus)
	st, err = e.RetryTask(ctx, &tt.RetryTaskParams{TaskID: init.TaskID})
	require.NoError(t, err)
	require.Equal(t, tt.TaskPending, st.Status)
	require.Equal(t, tt.StepPending, stepsByName(st)[failed.StepName].Status)
}
