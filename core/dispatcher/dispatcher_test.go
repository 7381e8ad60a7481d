package dispatcher_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func TestDispatcherRunsEveryStepOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, taskertest.DiamondWorkflow(b.ns))
	ids := b.tasks(t, "diamond_workflow", 30)
	d := b.start(t, dispatcher.Config{})
	rec := &runs{}
	wg := executors(t, d, 8, rec, func(s *tt.ClaimedStep) (any, error) {
		return map[string]any{"step": s.StepName, "parents": len(s.DependencyResults)}, nil
	})
	tasks := b.waitTasks(t, ids, 60*time.Second)
	d.Quiet()
	wg.Wait()
	for _, st := range tasks {
		require.Equal(t, tt.TaskComplete, st.Status, "task %d", st.TaskID)
		for _, s := range st.Steps {
			require.Equal(t, tt.StepComplete, s.Status)
			require.Len(t, rec.of(s.WorkflowStepID), 1, "step %s of task %d ran once", s.Name, st.TaskID)
			require.Equal(t, 1, s.Attempts)
		}
	}
	stats := d.Stats()
	require.EqualValues(t, 30*7, stats.Completed)
	require.Zero(t, stats.Stale)
	require.Positive(t, stats.HandedOff, "children were handed straight to waiting executors")
	t.Logf("stats: %+v", stats)
}
