package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

func findings(t *testing.T, b *opsBundle, p tt.StuckParams) map[tt.StuckKind][]tt.StuckWork {
	t.Helper()
	rep, err := b.e.StuckWork(context.Background(), &p)
	require.NoError(t, err)
	out := map[tt.StuckKind][]tt.StuckWork{}
	for _, w := range rep.Work {
		out[w.Kind] = append(out[w.Kind], w)
	}
	return out
}

// A step whose worker stopped heartbeating is past its lease until a rescue
// returns it; one whose worker heartbeats but never finishes is past its
// timeout. Both are found on demand, with nothing recorded yet.
func TestStuckWorkFindsStepsPastLeaseAndTimeout(t *testing.T) {
	t.Parallel()
	b := setupOps(t)
	ctx := context.Background()
	one := 1
	_, err := b.e.RegisterTemplate(ctx, &tt.TemplateSpec{Namespace: b.ns, Name: "timed", Version: "1.0.0",
		IdentityStrategy: tt.IdentityAlwaysUnique, Steps: []tt.StepSpec{{Name: "timed_step", Handler: "H", TimeoutSeconds: &one}}})
	require.NoError(t, err)
	lost, hung := b.start(t, "alpha"), b.start(t, "timed")
	claim := func(taskID int64, leaseMS int64) *tt.ClaimedStep {
		st, err := b.e.TaskStatus(ctx, taskID)
		require.NoError(t, err)
		s, err := b.e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: st.Steps[0].WorkflowStepID, WorkerID: "w-" + st.Name,
			LeaseMS: leaseMS})
		require.NoError(t, err)
		return s
	}
	lostStep := claim(lost, 200)
	hungStep := claim(hung, 60_000)
	require.Empty(t, findings(t, b, tt.StuckParams{}), "nothing is stuck yet")

	time.Sleep(1200 * time.Millisecond) // past the lease of one and the 1s timeout of the other
	_, err = b.e.Heartbeat(ctx, &tt.HeartbeatParams{StepID: hungStep.WorkflowStepID, ClaimToken: hungStep.ClaimToken})
	require.NoError(t, err, "the hung step's worker is alive")

	got := findings(t, b, tt.StuckParams{})
	require.Len(t, got[tt.StuckLeaseExpired], 1)
	w := got[tt.StuckLeaseExpired][0]
	require.Equal(t, lostStep.WorkflowStepID, *w.StepID)
	require.Equal(t, lost, w.TaskID)
	require.Equal(t, "alpha_step", w.StepName)
	require.Equal(t, tt.TaskInProgress, w.TaskStatus)
	require.Contains(t, w.Reason, `the lease of worker "w-alpha" expired`)
	require.Nil(t, w.FirstSeenAt, "no maintenance round recorded it")

	require.Len(t, got[tt.StuckPastTimeout], 1)
	w = got[tt.StuckPastTimeout][0]
	require.Equal(t, hungStep.WorkflowStepID, *w.StepID)
	require.Contains(t, w.Reason, `on worker "w-timed", past its timeout of 1s`)
	var details map[string]any
	require.NoError(t, json.Unmarshal(w.Details, &details))
	require.Equal(t, "w-timed", details["worker"])
	require.EqualValues(t, 1, details["timeout_seconds"])

	// A grace longer than the overrun, or a default timeout the step is
	// within, finds nothing past its timeout.
	require.Empty(t, findings(t, b, tt.StuckParams{GraceMS: 60_000})[tt.StuckPastTimeout])

	// Once the lease rescue returns the lost step, it is not stuck.
	n, err := b.e.RecoverExpiredLeases(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Empty(t, findings(t, b, tt.StuckParams{})[tt.StuckLeaseExpired])
}

// Steps without a timeout of their own are judged by the default.
func TestStuckWorkUsesTheDefaultStepTimeout(t *testing.T) {
	t.Parallel()
	b := setupOps(t)
	ctx := context.Background()
	id := b.start(t, "alpha")
	st, err := b.e.TaskStatus(ctx, id)
	require.NoError(t, err)
	_, err = b.e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: st.Steps[0].WorkflowStepID, WorkerID: "w", LeaseMS: 60_000})
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	require.Empty(t, findings(t, b, tt.StuckParams{}), "within the 5 minute default")
	got := findings(t, b, tt.StuckParams{DefaultStepTimeoutMS: 100})[tt.StuckPastTimeout]
	require.Len(t, got, 1)
	require.Contains(t, got[0].Reason, "past the default step timeout")
}

// A task none of whose steps can run is found with the reason in its steps'
// rows: here the original Tasker's bug, a pending step left in_process, and
// a readiness counter that missed a finished parent.
func TestStuckWorkFindsTasksWithNothingRunnable(t *testing.T) {
	t.Parallel()
	b := setupOps(t)
	ctx := context.Background()
	_, err := b.e.RegisterTemplate(ctx, &tt.TemplateSpec{Namespace: b.ns, Name: "chain", Version: "1.0.0",
		IdentityStrategy: tt.IdentityAlwaysUnique, Steps: []tt.StepSpec{{Name: "first", Handler: "H"},
			{Name: "second", Handler: "H", DependsOn: []string{"first"}}}})
	require.NoError(t, err)
	flagged, chain, healthy := b.start(t, "alpha"), b.start(t, "chain"), b.start(t, "beta")
	_, err = b.pool.Exec(ctx, "UPDATE tasker_workflow_steps SET in_process = true WHERE task_id = $1", flagged)
	require.NoError(t, err)
	b.run(t, chain, true) // completes "first"; "second" becomes ready
	_, err = b.pool.Exec(ctx, `UPDATE tasker_workflow_steps SET pending_parents = 1
		WHERE task_id = $1 AND status = 'pending'`, chain)
	require.NoError(t, err)

	got := findings(t, b, tt.StuckParams{})[tt.StuckNoRunnableStep]
	require.Len(t, got, 2, "the healthy task %d is not stuck", healthy)
	require.Equal(t, flagged, got[0].TaskID)
	require.Nil(t, got[0].StepID)
	require.Equal(t, tt.TaskPending, got[0].TaskStatus)
	require.Equal(t, "1 step pending but marked in_process, so no worker can claim them", got[0].Reason)
	require.Equal(t, chain, got[1].TaskID)
	require.Equal(t, tt.TaskInProgress, got[1].TaskStatus)
	require.Equal(t, "1 step still waiting for parents that all finished (pending_parents out of step)", got[1].Reason)
}

func TestStuckWorkRefusesBadParameters(t *testing.T) {
	t.Parallel()
	b := setupOps(t)
	for p, msg := range map[tt.StuckParams]string{
		{Limit: 5000}:                "stuck_work: limit: must be within 1..1000, got 5000",
		{DefaultStepTimeoutMS: -1}:   "stuck_work: default_step_timeout_ms: must be within 1..604800000 (0: 5 minutes), got -1",
		{GraceMS: -1, Limit: -2}:     "stuck_work: grace_ms: must be within 0..604800000, got -1; limit: must be within 1..1000, got -2",
		{DefaultStepTimeoutMS: 1e12}: "stuck_work: default_step_timeout_ms: must be within 1..604800000 (0: 5 minutes), got 1000000000000",
	} {
		_, err := b.e.StuckWork(context.Background(), &p)
		requireCode(t, err, tt.CodeValidation)
		require.EqualError(t, err, msg)
	}
}
