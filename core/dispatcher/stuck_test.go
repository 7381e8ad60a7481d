package dispatcher_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// recorded waits until the maintenance leader's record holds a finding of
// kind for the step (or, step 0, the task) and returns it; p are the
// leader's detection parameters.
func recorded(t *testing.T, b *testBundle, p tt.StuckParams, kind tt.StuckKind, taskID, stepID int64) tt.StuckWork {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rep, err := b.eng.StuckWork(context.Background(), &p)
		require.NoError(t, err)
		for _, w := range rep.Work {
			if w.Kind == kind && w.TaskID == taskID && w.FirstSeenAt != nil && (stepID == 0 || *w.StepID == stepID) {
				return w
			}
		}
		require.True(t, time.Now().Before(deadline), "no %s finding for task %d was recorded: %+v", kind, taskID, rep.Work)
		time.Sleep(50 * time.Millisecond)
	}
}

func recordedRows(t *testing.T, b *testBundle, taskID int64) int {
	t.Helper()
	var n int
	require.NoError(t, b.eng.Pool().QueryRow(context.Background(),
		"SELECT count(*) FROM tasker_stuck_work WHERE task_id = $1", taskID).Scan(&n))
	return n
}

func waitNoRecord(t *testing.T, b *testBundle, taskID int64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for recordedRows(t, b, taskID) > 0 {
		require.True(t, time.Now().Before(deadline), "the finding of task %d was never cleared", taskID)
		time.Sleep(50 * time.Millisecond)
	}
}

// A worker that took a step and died leaves it in progress; its lease
// expires, and while its task stays locked (a long transaction) the rescue
// skips it: the maintenance leader records why. Once the lock goes, the
// rescue returns the step and the record is cleared.
func TestMaintenanceRecordsAnExpiredLeaseItCannotRescue(t *testing.T) {
	t.Parallel()
	b := setupFresh(t)
	b.register(t, oneStep(b.ns, "lost", nil))
	id := b.tasks(t, "lost", 1)[0]
	ctx := context.Background()
	res, err := b.eng.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{b.ns}, Limit: 1, WorkerID: "dead-worker", LeaseMS: 100})
	require.NoError(t, err)
	require.Len(t, res.Steps, 1)
	step := res.Steps[0].WorkflowStepID

	tx, err := b.eng.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "SELECT 1 FROM tasker_tasks WHERE task_id = $1 FOR UPDATE", id)
	require.NoError(t, err)

	d := b.start(t, dispatcher.Config{RescueInterval: 30 * time.Millisecond, StuckInterval: 30 * time.Millisecond})
	w := recorded(t, b, tt.StuckParams{}, tt.StuckLeaseExpired, id, step)
	require.Contains(t, w.Reason, `the lease of worker "dead-worker" expired`)

	require.NoError(t, tx.Rollback(ctx))
	waitNoRecord(t, b, id)
	st, err := b.eng.TaskStatus(ctx, id)
	require.NoError(t, err)
	require.NotEqual(t, tt.StepInProgress, st.Steps[0].Status, "the rescue returned the step")
	require.Positive(t, d.Stats().Rescued)
}

// A real dispatcher whose executor took a step and never reports keeps its
// lease alive; a maintenance leader whose step timeout it has passed (plus a
// lease of grace) records it as past its timeout, and clears the record once
// the worker stops and gives the step back.
func TestMaintenanceRecordsAStepPastItsTimeoutWhileItsWorkerHeartbeats(t *testing.T) {
	t.Parallel()
	b := setupFresh(t)
	b.register(t, oneStep(b.ns, "hung", nil))
	id := b.tasks(t, "hung", 1)[0]
	// The hung step's worker: a long default timeout, and no maintenance
	// round within the test.
	hung := b.start(t, dispatcher.Config{WorkerID: "hung-worker", Lease: 300 * time.Millisecond,
		DefaultStepTimeout: time.Hour, RescueInterval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := hung.Next(ctx)
	require.NoError(t, err)
	require.NotNil(t, s)

	b.start(t, dispatcher.Config{Lease: 300 * time.Millisecond, DefaultStepTimeout: time.Second,
		RescueInterval: 30 * time.Millisecond, StuckInterval: 30 * time.Millisecond})
	w := recorded(t, b, tt.StuckParams{DefaultStepTimeoutMS: 1000, GraceMS: 300}, tt.StuckPastTimeout, id, s.WorkflowStepID)
	require.Contains(t, w.Reason, `on worker "hung-worker", past the default step timeout`)
	st, err := b.eng.TaskStatus(ctx, id)
	require.NoError(t, err)
	require.Equal(t, tt.StepInProgress, st.Steps[0].Status, "its worker still holds it")

	stopCtx, stopCancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer stopCancel()
	require.ErrorContains(t, hung.Stop(stopCtx), "released them", "the unreported step is given back")
	waitNoRecord(t, b, id)
}

// A task with nothing runnable (a pending step left in_process, the
// original's bug) is recorded with its reason; resolving the step lets the
// task finish and clears the record.
func TestMaintenanceRecordsATaskWithNothingRunnable(t *testing.T) {
	t.Parallel()
	b := setupFresh(t)
	b.register(t, oneStep(b.ns, "flagged", nil))
	id := b.tasks(t, "flagged", 1)[0]
	ctx := context.Background()
	_, err := b.eng.Pool().Exec(ctx, "UPDATE tasker_workflow_steps SET in_process = true WHERE task_id = $1", id)
	require.NoError(t, err)
	b.start(t, dispatcher.Config{RescueInterval: 30 * time.Millisecond, StuckInterval: 30 * time.Millisecond})
	w := recorded(t, b, tt.StuckParams{}, tt.StuckNoRunnableStep, id, 0)
	require.Equal(t, "1 step pending but marked in_process, so no worker can claim them", w.Reason)

	st, err := b.eng.TaskStatus(ctx, id)
	require.NoError(t, err)
	res, err := b.eng.ResolveStep(ctx, &tt.ResolveStepParams{StepID: st.Steps[0].WorkflowStepID, Reason: "stuck"})
	require.NoError(t, err)
	require.Equal(t, tt.TaskComplete, res.TaskStatus)
	waitNoRecord(t, b, id)
}
