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

func requireNotReady(t *testing.T, err error, reason tt.NotReadyReason) *tt.NotReadyError {
	t.Helper()
	requireCode(t, err, tt.CodeNotReady)
	var nr *tt.NotReadyError
	require.ErrorAs(t, err, &nr)
	require.Equal(t, reason, nr.Reason, "%v", err)
	return nr
}

// ClaimStep runs a workflow one named step at a time and says why a step
// cannot run.
func TestClaimStepOneAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, taskertest.DiamondWorkflow(ns), map[string]any{"k": "v"})
	id := init.StepMapping

	// A child before its parents: dependencies unmet, naming them.
	_, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id["merge_branches"], WorkerID: "tester"})
	nr := requireNotReady(t, err, tt.NotReadyDependencies)
	require.Equal(t, []string{"branch_a_validate", "branch_b_validate"}, nr.UnmetParents)
	require.Equal(t, "merge_branches", nr.StepName)
	require.Equal(t, id["merge_branches"], nr.StepID)
	require.Equal(t, tt.StepPending, nr.Status)
	require.Contains(t, err.Error(), "branch_a_validate, branch_b_validate")
	require.Equal(t, []string{"branch_a_validate", "branch_b_validate"}, nr.Details()["unmet_parents"])

	// A root claims fine.
	start, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id["start"], WorkerID: "tester"})
	require.NoError(t, err)
	require.Equal(t, "start", start.StepName)
	require.Equal(t, 1, start.Attempts)
	require.Empty(t, start.DependencyResults)
	requireJSONEqual(t, []byte(`{"k":"v"}`), start.TaskContext)

	// A claimed step: claimed, by whom.
	_, err = e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id["start"], WorkerID: "other"})
	nr = requireNotReady(t, err, tt.NotReadyClaimed)
	require.Equal(t, "tester", nr.ClaimedBy)
	require.Equal(t, tt.StepInProgress, nr.Status)
	require.Contains(t, err.Error(), `"tester"`)
	// Nor may the batch claim take it.
	claimNone(t, e, ns, "other")

	_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: start.WorkflowStepID, ClaimToken: start.ClaimToken, Results: json.RawMessage(`{"started":true}`)})
	require.NoError(t, err)

	// A completed step: already done.
	_, err = e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id["start"], WorkerID: "tester"})
	nr = requireNotReady(t, err, tt.NotReadyDone)
	require.Equal(t, tt.StepComplete, nr.Status)

	// With only some parents done, the others are named.
	a, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id["branch_a_process"], WorkerID: "tester"})
	require.NoError(t, err)
	requireJSONEqual(t, []byte(`{"started":true}`), a.DependencyResults["start"])
	_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: a.WorkflowStepID, ClaimToken: a.ClaimToken, Results: json.RawMessage(`{"a":1}`)})
	require.NoError(t, err)
	_, err = e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id["branch_b_validate"], WorkerID: "tester"})
	nr = requireNotReady(t, err, tt.NotReadyDependencies)
	require.Equal(t, []string{"branch_b_process"}, nr.UnmetParents)

	// Run the rest one at a time, in dependency order.
	for _, name := range []string{"branch_a_validate", "branch_b_process", "branch_b_validate", "merge_branches", "end"} {
		s, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id[name], WorkerID: "tester"})
		require.NoError(t, err, name)
		_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: json.RawMessage(`{"name":"` + name + `"}`)})
		require.NoError(t, err, name)
	}
	st, err := e.TaskStatus(ctx, init.TaskID)
	require.NoError(t, err)
	require.Equal(t, tt.TaskComplete, st.Status)

	// Unknown and invalid steps.
	_, err = e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: 1 << 60, WorkerID: "tester"})
	requireCode(t, err, tt.CodeNotFound)
	_, err = e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id["end"]})
	requireCode(t, err, tt.CodeValidation)
}

// A step waiting for its retry backoff is in_backoff, with the time it may
// run again.
func TestClaimStepInBackoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := engine.New(taskertest.Pool(t), engine.Config{Backoff: &backoff.Config{Base: time.Hour, Multiplier: 1, Max: time.Hour}})
	require.NoError(t, err)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, taskertest.OrderFulfillmentWorkflow(ns), nil)
	id := init.StepMapping["validate_order"]

	s, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id, WorkerID: "tester"})
	require.NoError(t, err)
	before := time.Now()
	res, err := e.FailStep(ctx, &tt.FailParams{StepID: id, ClaimToken: s.ClaimToken, Error: tt.StepFailure{Class: "Timeout", Message: "try later"}})
	require.NoError(t, err)
	require.Equal(t, tt.StepWaitingForRetry, res.Status)
	require.NotNil(t, res.NextRetryAt)
	require.WithinDuration(t, before.Add(time.Hour), *res.NextRetryAt, time.Minute)

	_, err = e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id, WorkerID: "tester"})
	nr := requireNotReady(t, err, tt.NotReadyBackoff)
	require.Equal(t, tt.StepWaitingForRetry, nr.Status)
	require.NotNil(t, nr.RetryAt)
	require.WithinDuration(t, *res.NextRetryAt, *nr.RetryAt, time.Millisecond)
	require.Contains(t, nr.Details(), "retry_at")
	claimNone(t, e, ns, "other")

	readiness, err := e.StepReadiness(ctx, init.TaskID, []int64{id})
	require.NoError(t, err)
	require.False(t, readiness[0].ReadyForExecution)
	require.True(t, readiness[0].RetryEligible)
	require.Equal(t, tt.StepWaitingForRetry, readiness[0].CurrentState)
	require.NotNil(t, readiness[0].NextRetryAt)

	// A requested backoff wins over the schedule (and is capped by its max).
	s2 := taskertest.Start(t, e, taskertest.OrderFulfillmentWorkflow(ns), nil)
	id2 := s2.StepMapping["validate_order"]
	c, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id2, WorkerID: "tester"})
	require.NoError(t, err)
	before = time.Now()
	res, err = e.FailStep(ctx, &tt.FailParams{StepID: id2, ClaimToken: c.ClaimToken, Error: tt.StepFailure{Message: "rate limited"},
		BackoffSeconds: taskertest.FloatPtr(0.05)})
	require.NoError(t, err)
	require.WithinDuration(t, before.Add(50*time.Millisecond), *res.NextRetryAt, time.Second)
	time.Sleep(100 * time.Millisecond)
	again, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id2, WorkerID: "tester"})
	require.NoError(t, err)
	require.Equal(t, 2, again.Attempts)
	st, err := e.TaskStatus(ctx, s2.TaskID)
	require.NoError(t, err)
	require.NotNil(t, stepsByName(st)["validate_order"].BackoffRequestSeconds)
	require.InDelta(t, 0.05, *stepsByName(st)["validate_order"].BackoffRequestSeconds, 1e-9)
}

// A step in error is blocked until an operator acts.
func TestClaimStepBlocked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, taskertest.OrderFulfillmentWorkflow(ns), nil)
	id := init.StepMapping["validate_order"]
	s, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id, WorkerID: "tester"})
	require.NoError(t, err)
	res, err := e.FailStep(ctx, &tt.FailParams{StepID: id, ClaimToken: s.ClaimToken, Error: tt.StepFailure{Message: "bad order"}, Permanent: true})
	require.NoError(t, err)
	require.Equal(t, tt.StepError, res.Status)
	require.Equal(t, tt.TaskError, res.TaskStatus, "nothing else can run")
	require.Nil(t, res.NextRetryAt)

	_, err = e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id, WorkerID: "tester"})
	nr := requireNotReady(t, err, tt.NotReadyBlocked)
	require.Equal(t, tt.StepError, nr.Status)
	_, err = e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: init.StepMapping["ship_order"], WorkerID: "tester"})
	nr = requireNotReady(t, err, tt.NotReadyDependencies)
	require.Equal(t, []string{"process_payment", "reserve_inventory"}, nr.UnmetParents)
}
