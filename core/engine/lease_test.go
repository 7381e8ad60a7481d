package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

func leaseTemplate(ns string, retryLimit *int) *tt.TemplateSpec {
	return &tt.TemplateSpec{Namespace: ns, Name: "lease", Version: "1.0.0", Steps: []tt.StepSpec{
		{Name: "slow", Handler: "Slow", RetryLimit: retryLimit},
		{Name: "after", Handler: "After", DependsOn: []string{"slow"}},
	}}
}

func claimOne(t *testing.T, e *engine.Engine, ns, worker string, leaseMS int64) tt.ClaimedStep {
	t.Helper()
	claim, err := e.ClaimSteps(context.Background(), &tt.ClaimParams{Namespaces: []string{ns}, Limit: 10, WorkerID: worker, LeaseMS: leaseMS})
	require.NoError(t, err)
	require.Len(t, claim.Steps, 1, "%s claims one step", worker)
	return claim.Steps[0]
}

// claimEventually claims the one ready step of ns, retrying briefly: another
// test's claim may be recovering the same expired lease at this moment (its
// transaction holds the step, so ours skips it).
func claimEventually(t *testing.T, e *engine.Engine, ns, worker string, leaseMS int64) tt.ClaimedStep {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		claim, err := e.ClaimSteps(context.Background(), &tt.ClaimParams{Namespaces: []string{ns}, Limit: 10, WorkerID: worker, LeaseMS: leaseMS})
		require.NoError(t, err)
		if len(claim.Steps) > 0 {
			require.Len(t, claim.Steps, 1, "%s claims one step", worker)
			return claim.Steps[0]
		}
		require.True(t, time.Now().Before(deadline), "%s claimed nothing", worker)
		time.Sleep(5 * time.Millisecond)
	}
}

func claimNone(t *testing.T, e *engine.Engine, ns, worker string) {
	t.Helper()
	claim, err := e.ClaimSteps(context.Background(), &tt.ClaimParams{Namespaces: []string{ns}, Limit: 10, WorkerID: worker})
	require.NoError(t, err)
	require.Empty(t, claim.Steps, "%s claims nothing", worker)
}

// A worker that stops heartbeating loses its step: another worker claims it
// (a second attempt), the first worker's late report is stale and its
// results are not stored, the second worker's report stands.
func TestLeaseExpiryReclaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, leaseTemplate(ns, nil), nil)

	first := claimOne(t, e, ns, "w1", 50)
	require.Equal(t, 1, first.Attempts)
	require.WithinDuration(t, time.Now().Add(50*time.Millisecond), first.LeaseExpiresAt, 2*time.Second)
	time.Sleep(120 * time.Millisecond)

	second := claimEventually(t, e, ns, "w2", 30_000)
	require.Equal(t, first.WorkflowStepID, second.WorkflowStepID)
	require.Equal(t, 2, second.Attempts, "the lost attempt counts")
	require.NotEqual(t, first.ClaimToken, second.ClaimToken)

	_, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: first.WorkflowStepID, ClaimToken: first.ClaimToken, Results: json.RawMessage(`{"from":"w1"}`)})
	requireCode(t, err, tt.CodeStaleClaim)
	var sce *tt.StaleClaimError
	require.ErrorAs(t, err, &sce)
	require.Equal(t, first.WorkflowStepID, sce.StepID)
	require.Equal(t, tt.StepInProgress, sce.Status)
	_, err = e.FailStep(ctx, &tt.FailParams{StepID: first.WorkflowStepID, ClaimToken: first.ClaimToken, Error: tt.StepFailure{Message: "late"}})
	requireCode(t, err, tt.CodeStaleClaim)

	st, err := e.TaskStatus(ctx, init.TaskID)
	require.NoError(t, err)
	slow := stepsByName(st)["slow"]
	require.Equal(t, tt.StepInProgress, slow.Status)
	require.Nil(t, slow.Results, "the stale worker's results are not stored")

	res, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: second.WorkflowStepID, ClaimToken: second.ClaimToken, Results: json.RawMessage(`{"from":"w2"}`)})
	require.NoError(t, err)
	require.Equal(t, tt.StepComplete, res.Status)
	require.Equal(t, 2, res.Attempts)

	// The stale worker cannot report over the finished step either.
	_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: first.WorkflowStepID, ClaimToken: first.ClaimToken, Results: json.RawMessage(`{"from":"w1"}`)})
	requireCode(t, err, tt.CodeStaleClaim)

	after := claimOne(t, e, ns, "w2", 0)
	require.Equal(t, "after", after.StepName)
	requireJSONEqual(t, []byte(`{"from":"w2"}`), after.DependencyResults["slow"])

	st, err = e.TaskStatus(ctx, init.TaskID)
	require.NoError(t, err)
	requireJSONEqual(t, []byte(`{"from":"w2"}`), stepsByName(st)["slow"].Results)
	rows := stepTransitions(t, first.WorkflowStepID)
	requireWellFormed(t, rows)
	require.Equal(t, []string{"pending", "in_progress", "waiting_for_retry", "in_progress", "complete"}, toStates(rows))
}

// A heartbeat extends the lease: the step is not reclaimed after the
// original lease would have ended.
func TestHeartbeatExtendsLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	taskertest.Start(t, e, leaseTemplate(ns, nil), nil)

	// The first lease is long enough that a loaded machine still heartbeats
	// before it ends (any parallel test's claim recovers expired leases).
	s := claimOne(t, e, ns, "w1", 1000)
	hb, err := e.Heartbeat(ctx, &tt.HeartbeatParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, LeaseMS: 10000})
	require.NoError(t, err)
	require.Equal(t, s.WorkflowStepID, hb.StepID)
	require.True(t, hb.LeaseExpiresAt.After(s.LeaseExpiresAt.Add(8*time.Second)), "lease extended: %s vs %s", hb.LeaseExpiresAt, s.LeaseExpiresAt)
	time.Sleep(1200 * time.Millisecond) // past the first lease

	claimNone(t, e, ns, "w2")
	_, err = e.RecoverExpiredLeases(ctx)
	require.NoError(t, err)
	claimNone(t, e, ns, "w2")

	res, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: json.RawMessage(`{"ok":1}`)})
	require.NoError(t, err)
	require.Equal(t, 1, res.Attempts)
}

// A step whose lease expires with no attempts left goes to error, and its
// task with it once nothing else can run.
func TestLeaseExpiryWithoutAttemptsLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	one := 1
	init := taskertest.Start(t, e, leaseTemplate(ns, &one), nil)

	s := claimOne(t, e, ns, "w1", 50)
	time.Sleep(120 * time.Millisecond)
	// A claim recovers the lease (no attempts left). Another test's claim may
	// be recovering it at the same moment, so wait for the commit.
	var st *tt.TaskStatus
	require.Eventually(t, func() bool {
		claimNone(t, e, ns, "w2")
		var err error
		st, err = e.TaskStatus(ctx, init.TaskID)
		require.NoError(t, err)
		return stepsByName(st)["slow"].Status != tt.StepInProgress
	}, 5*time.Second, 5*time.Millisecond)
	steps := stepsByName(st)
	require.Equal(t, tt.StepError, steps["slow"].Status)
	require.Equal(t, 1, steps["slow"].Attempts)
	require.False(t, steps["slow"].InProcess)
	var lastErr map[string]any
	require.NoError(t, json.Unmarshal(steps["slow"].LastError, &lastErr))
	require.Equal(t, "LeaseExpired", lastErr["class"])
	require.Equal(t, tt.StepPending, steps["after"].Status)
	require.Equal(t, tt.TaskError, st.Status)

	_, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: json.RawMessage(`{}`)})
	requireCode(t, err, tt.CodeStaleClaim)
	rows := stepTransitions(t, s.WorkflowStepID)
	requireWellFormed(t, rows)
	require.Equal(t, []string{"pending", "in_progress", "error"}, toStates(rows))
}

// A heartbeat with a token that no longer holds the step is stale.
func TestHeartbeatStaleToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	taskertest.Start(t, e, leaseTemplate(ns, nil), nil)

	first := claimOne(t, e, ns, "w1", 50)
	time.Sleep(120 * time.Millisecond)
	second := claimEventually(t, e, ns, "w2", 30_000)

	_, err := e.Heartbeat(ctx, &tt.HeartbeatParams{StepID: first.WorkflowStepID, ClaimToken: first.ClaimToken, LeaseMS: 5000})
	requireCode(t, err, tt.CodeStaleClaim)
	_, err = e.Heartbeat(ctx, &tt.HeartbeatParams{StepID: first.WorkflowStepID, ClaimToken: uuid.NewString()})
	requireCode(t, err, tt.CodeStaleClaim)
	_, err = e.Heartbeat(ctx, &tt.HeartbeatParams{StepID: second.WorkflowStepID, ClaimToken: second.ClaimToken})
	require.NoError(t, err)

	_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: second.WorkflowStepID, ClaimToken: second.ClaimToken, Results: json.RawMessage(`{}`)})
	require.NoError(t, err)
	_, err = e.Heartbeat(ctx, &tt.HeartbeatParams{StepID: second.WorkflowStepID, ClaimToken: second.ClaimToken})
	requireCode(t, err, tt.CodeStaleClaim, "a heartbeat after completion")

	_, err = e.Heartbeat(ctx, &tt.HeartbeatParams{StepID: second.WorkflowStepID, ClaimToken: "not-a-uuid"})
	requireCode(t, err, tt.CodeValidation)
}

// The one-step claim recovers expired leases too: a step whose worker
// stopped heartbeating is not reported as claimed by that worker forever.
// (It was, until some batch claim happened to run.)
func TestClaimStepAfterLeaseExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, leaseTemplate(ns, nil), nil)
	id := init.StepMapping["slow"]

	first, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id, WorkerID: "w1", LeaseMS: 50})
	require.NoError(t, err)
	time.Sleep(120 * time.Millisecond)
	// Another test's claim may be recovering the lease at this moment; the
	// one-step claim then sees it claimed (or a few microseconds in backoff)
	// until that commits.
	var second *tt.ClaimedStep
	require.Eventually(t, func() bool {
		var err error
		second, err = e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id, WorkerID: "w2"})
		if err != nil && tt.CodeOf(err) != tt.CodeNotReady {
			t.Errorf("claim step: %v", err)
			return true
		}
		return err == nil
	}, 5*time.Second, 5*time.Millisecond, "the expired lease is recovered before the one-step claim")
	require.NotNil(t, second)
	require.Equal(t, 2, second.Attempts)
	_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: id, ClaimToken: first.ClaimToken, Results: json.RawMessage(`{}`)})
	requireCode(t, err, tt.CodeStaleClaim)
}
