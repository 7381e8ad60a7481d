package dispatcher_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// A rolling deploy: the new code registered version 2.0.0 and started its
// tasks while an old worker, which only has handlers for 1.0.0, still runs.
// The old worker must leave 2.0.0's steps alone: not run, no attempt spent.
func TestDispatcherClaimsOnlyItsTemplateVersions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	v1 := taskertest.LinearWorkflow(b.ns)
	v2 := taskertest.LinearWorkflow(b.ns)
	v2.Version = "2.0.0"
	b.register(t, v1)
	b.register(t, v2)
	start := func(version string, n int) []int64 {
		ids := make([]int64, n)
		for i := range n {
			res, err := b.eng.InitializeTask(context.Background(), &tt.TaskRequest{
				Namespace: b.ns, Name: v1.Name, Version: version, Initiator: "test",
				Context: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
			})
			require.NoError(t, err)
			ids[i] = res.TaskID
		}
		return ids
	}
	newer := start("2.0.0", 5) // created first: the oldest ready steps
	older := start("1.0.0", 5)

	d, err := dispatcher.New(b.eng, dispatcher.Config{
		WorkerID:          b.ns + "-old",
		Templates:         []tt.TemplateKey{{Namespace: b.ns, Name: v1.Name, Version: "1.0.0"}},
		FetchPollInterval: 50 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	t.Cleanup(func() { _ = d.Stop(context.Background()) })
	rec := &runs{}
	wg := executors(t, d, 4, rec, func(s *tt.ClaimedStep) (any, error) {
		if s.TaskVersion != "1.0.0" {
			return nil, fmt.Errorf("claimed %s/%s@%s, which this worker has no handler for", s.Namespace, s.TaskName, s.TaskVersion)
		}
		return map[string]any{"ok": true}, nil
	})
	for _, st := range b.waitTasks(t, older, 60*time.Second) {
		require.Equal(t, tt.TaskComplete, st.Status, "task %d", st.TaskID)
	}
	d.Quiet()
	wg.Wait()
	for _, id := range newer {
		st, err := b.eng.TaskStatus(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, tt.TaskPending, st.Status, "task %d of 2.0.0", id)
		for _, s := range st.Steps {
			require.Zero(t, s.Attempts, "step %s of task %d (2.0.0)", s.Name, id)
			require.Empty(t, rec.of(s.WorkflowStepID), "step %s of task %d (2.0.0) ran", s.Name, id)
		}
	}

	// The new worker takes them.
	d2, err := dispatcher.New(b.eng, dispatcher.Config{
		WorkerID:          b.ns + "-new",
		Templates:         []tt.TemplateKey{{Namespace: b.ns, Name: v1.Name, Version: "2.0.0"}},
		FetchPollInterval: 50 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, d2.Start(context.Background()))
	t.Cleanup(func() { _ = d2.Stop(context.Background()) })
	wg2 := executors(t, d2, 4, rec, func(s *tt.ClaimedStep) (any, error) { return s.TaskVersion, nil })
	for _, st := range b.waitTasks(t, newer, 60*time.Second) {
		require.Equal(t, tt.TaskComplete, st.Status, "task %d", st.TaskID)
		for _, s := range st.Steps {
			require.Equal(t, 1, s.Attempts, "step %s of task %d", s.Name, st.TaskID)
		}
	}
	d2.Quiet()
	wg2.Wait()
}

func TestDispatcherTemplatesAreChecked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, taskertest.LinearWorkflow(b.ns))
	_, err := dispatcher.New(b.eng, dispatcher.Config{WorkerID: "w", Namespaces: []string{b.ns},
		Templates: []tt.TemplateKey{{Namespace: b.ns, Name: "linear_workflow", Version: "1.0.0"}}})
	require.ErrorContains(t, err, "set namespaces or templates, not both")
	_, err = dispatcher.New(b.eng, dispatcher.Config{WorkerID: "w", Templates: []tt.TemplateKey{{Namespace: b.ns, Name: "linear_workflow"}}})
	require.ErrorContains(t, err, "templates[0] needs namespace, name and version")

	d, err := dispatcher.New(b.eng, dispatcher.Config{WorkerID: "w", Templates: []tt.TemplateKey{
		{Namespace: b.ns, Name: "linear_workflow", Version: "1.0.0"}, {Namespace: b.ns, Name: "linear_workflow", Version: "9.9.9"}}})
	require.NoError(t, err)
	err = d.Start(context.Background())
	var verr *tt.ValidationError
	require.ErrorAs(t, err, &verr)
	require.ErrorContains(t, err, "templates[1]")
	require.ErrorContains(t, err, b.ns+"/linear_workflow@9.9.9 is not registered")
}
