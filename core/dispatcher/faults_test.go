package dispatcher_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

func oneStep(ns, name string, timeoutSeconds *int) *tt.TemplateSpec {
	return &tt.TemplateSpec{Namespace: ns, Name: name, Version: "1.0.0", Steps: []tt.StepSpec{
		{Name: "only", Handler: "Only", TimeoutSeconds: timeoutSeconds},
	}}
}

// A handler past its timeout_seconds: the dispatcher fails the attempt as a
// retryable timeout, the late result is refused as stale, and the retry runs
// and completes.
func TestDispatcherTimesOutAStuckHandler(t *testing.T) {
	t.Parallel()
	b := setup(t)
	one := 1
	b.register(t, oneStep(b.ns, "slow", &one))
	ids := b.tasks(t, "slow", 1)
	d := b.start(t, dispatcher.Config{})

	var lateErr atomic.Value
	rec := &runs{}
	wg := executors(t, d, 2, rec, func(s *tt.ClaimedStep) (any, error) {
		require.Equal(t, 1, s.TimeoutSeconds)
		if s.Attempts == 1 {
			time.Sleep(1500 * time.Millisecond)
			// Report directly to see the refusal the executor loop hides.
			_, err := d.Complete(context.Background(), &tt.CompleteParams{StepID: s.WorkflowStepID,
				ClaimToken: s.ClaimToken, Results: json.RawMessage(`{"late":true}`)})
			lateErr.Store(err)
		}
		return map[string]bool{"on_time": true}, nil
	})
	st := b.waitTasks(t, ids, 30*time.Second)[0]
	d.Quiet()
	wg.Wait()

	require.Equal(t, tt.TaskComplete, st.Status)
	step := st.Steps[0]
	require.Equal(t, 2, step.Attempts)
	require.JSONEq(t, `{"on_time":true}`, string(step.Results))
	var stale *tt.StaleClaimError
	require.True(t, errors.As(lateErr.Load().(error), &stale), "late result refused: %v", lateErr.Load())
	require.EqualValues(t, 1, d.Stats().TimedOut)

	var class string
	require.NoError(t, taskertest.Pool(t).QueryRow(context.Background(),
		`SELECT metadata->>'error_class' FROM tasker_workflow_step_transitions
		  WHERE workflow_step_id = $1 AND to_state = 'waiting_for_retry'`, step.WorkflowStepID).Scan(&class))
	require.Equal(t, dispatcher.TimeoutErrorClass, class)
}

// Stop gives back a step whose handler is still running when the deadline
// passes, with its attempt not counted; Next after Quiet says stopped.
func TestDispatcherStopReleasesRunningSteps(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, oneStep(b.ns, "held", nil))
	ids := b.tasks(t, "held", 1)
	d := b.start(t, dispatcher.Config{})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := d.Next(ctx)
	require.NoError(t, err)
	require.NotNil(t, s)

	sctx, scancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer scancel()
	err = d.Stop(sctx)
	require.ErrorContains(t, err, "1 steps still running")
	var released *dispatcher.ReleasedStepsError
	require.True(t, errors.As(err, &released), "a typed error: %T", err)
	require.Equal(t, []int64{s.WorkflowStepID}, released.StepIDs)
	require.Equal(t, tt.CodeTimeout, tt.CodeOf(err))

	_, err = d.Next(context.Background())
	require.ErrorIs(t, err, dispatcher.ErrStopped)

	st, err := b.eng.TaskStatus(context.Background(), ids[0])
	require.NoError(t, err)
	require.Equal(t, tt.StepPending, st.Steps[0].Status)
	require.Equal(t, 0, st.Steps[0].Attempts, "a step given back at stop keeps its attempt")

	_, err = d.Complete(context.Background(), &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken})
	var stale *tt.StaleClaimError
	require.True(t, errors.As(err, &stale), "the released claim is fenced: %v", err)
}

// Every connection of the database is killed again and again while
// executors run: reports are retried, never dropped, and every step is
// recorded exactly once.
func TestDispatcherReportsSurviveDroppedConnections(t *testing.T) {
	t.Parallel()
	b := setupFresh(t)
	b.register(t, taskertest.LinearWorkflow(b.ns))
	ids := b.tasks(t, "linear_workflow", 20)
	d := b.start(t, dispatcher.Config{})
	rec := &runs{}
	wg := executors(t, d, 4, rec, func(s *tt.ClaimedStep) (any, error) {
		time.Sleep(5 * time.Millisecond)
		return map[string]int64{"step": s.WorkflowStepID}, nil
	})

	admin := b.eng.Pool()
	stopKilling := make(chan struct{})
	killed := make(chan int, 1)
	go func() {
		n := 0
		defer func() { killed <- n }()
		for {
			select {
			case <-stopKilling:
				return
			case <-time.After(150 * time.Millisecond):
			}
			var k int
			if err := admin.QueryRow(context.Background(),
				`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				  WHERE datname = current_database() AND pid <> pg_backend_pid()
				    AND application_name = ''`).Scan(&k); err == nil {
				n += k
			}
		}
	}()
	tasks := b.waitTasks(t, ids, 90*time.Second)
	close(stopKilling)
	n := <-killed
	d.Quiet()
	wg.Wait()
	require.Positive(t, n, "connections were killed")
	for _, st := range tasks {
		require.Equal(t, tt.TaskComplete, st.Status, "task %d", st.TaskID)
		for _, s := range st.Steps {
			require.Equal(t, tt.StepComplete, s.Status)
			require.JSONEq(t, `{"step":`+itoa(s.WorkflowStepID)+`}`, string(s.Results))
		}
	}
	t.Logf("killed %d connections; stats %+v", n, d.Stats())
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// A report the database refuses (a NUL in an error message, which jsonb
// cannot hold) fails alone: the reports flushed with it are recorded.
func TestDispatcherIsolatesARefusedReport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, oneStep(b.ns, "pair", nil))
	ids := b.tasks(t, "pair", 2)
	d := b.start(t, dispatcher.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s1, err := d.Next(ctx)
	require.NoError(t, err)
	s2, err := d.Next(ctx)
	require.NoError(t, err)

	errs := make(chan error, 2)
	go func() {
		_, err := d.Fail(ctx, &tt.FailParams{StepID: s1.WorkflowStepID, ClaimToken: s1.ClaimToken,
			Error: tt.StepFailure{Class: "Bad", Message: "nul \u0000 here"}})
		errs <- err
	}()
	go func() {
		_, err := d.Complete(ctx, &tt.CompleteParams{StepID: s2.WorkflowStepID, ClaimToken: s2.ClaimToken,
			Results: json.RawMessage(`{"ok":true}`)})
		errs <- err
	}()
	var refused, recorded int
	for range 2 {
		var v *tt.ValidationError
		switch err := <-errs; {
		case err == nil:
			recorded++
		case errors.As(err, &v):
			refused++
		default:
			t.Fatalf("unexpected report error: %v", err)
		}
	}
	require.Equal(t, 1, refused)
	require.Equal(t, 1, recorded)
	done, err := b.eng.TaskStatus(ctx, s2.TaskID)
	require.NoError(t, err)
	require.Equal(t, tt.TaskComplete, done.Status)
	held, err := b.eng.TaskStatus(ctx, s1.TaskID)
	require.NoError(t, err)
	require.Equal(t, tt.StepInProgress, held.Steps[0].Status, "the refused failure wrote nothing; the claim still holds")
	require.ElementsMatch(t, ids, []int64{s1.TaskID, s2.TaskID})
}
