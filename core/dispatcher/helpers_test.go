package dispatcher_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

type testBundle struct {
	eng *engine.Engine
	ns  string
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	return &testBundle{eng: taskertest.Engine(t), ns: taskertest.Namespace(t)}
}

// setupFresh is setup on a database of the test's own, for tests that break
// connections.
func setupFresh(t *testing.T) *testBundle { return setupFreshB(t) }

func setupFreshB(t testing.TB) *testBundle {
	t.Helper()
	pool, _ := taskertest.FreshDatabase(t)
	eng, err := engine.New(pool, engine.Config{Backoff: taskertest.FastBackoff()})
	require.NoError(t, err)
	_, err = eng.Migrate(context.Background())
	require.NoError(t, err)
	return &testBundle{eng: eng, ns: taskertest.Namespace(t)}
}

// start runs a dispatcher for the bundle's namespace, stopped at cleanup.
func (b *testBundle) start(t *testing.T, cfg dispatcher.Config) *dispatcher.Dispatcher {
	t.Helper()
	if cfg.WorkerID == "" {
		cfg.WorkerID = fmt.Sprintf("%s-w%d", b.ns, time.Now().UnixNano())
	}
	cfg.Namespaces = []string{b.ns}
	if cfg.FetchPollInterval == 0 {
		cfg.FetchPollInterval = 50 * time.Millisecond
	}
	d, err := dispatcher.New(b.eng, cfg)
	require.NoError(t, err)
	require.NoError(t, d.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Stop(ctx)
	})
	return d
}

func (b *testBundle) register(t *testing.T, spec *tt.TemplateSpec) {
	t.Helper()
	_, err := b.eng.RegisterTemplate(context.Background(), spec)
	require.NoError(t, err)
}

func (b *testBundle) tasks(t *testing.T, name string, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range n {
		res, err := b.eng.InitializeTask(context.Background(), &tt.TaskRequest{
			Namespace: b.ns, Name: name, Version: "1.0.0", Initiator: "test",
			Context: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		})
		require.NoError(t, err)
		ids[i] = res.TaskID
	}
	return ids
}

// waitTasks waits until every task reaches a terminal state and returns them.
func (b *testBundle) waitTasks(t *testing.T, ids []int64, within time.Duration) []*tt.TaskStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out := make([]*tt.TaskStatus, 0, len(ids))
		done := true
		for _, id := range ids {
			st, err := b.eng.TaskStatus(context.Background(), id)
			if err != nil && time.Now().Before(deadline) { // a test may be breaking connections
				done = false
				break
			}
			require.NoError(t, err)
			out = append(out, st)
			done = done && taskertest.TaskTerminal(st.Status)
		}
		if done {
			return out
		}
		if time.Now().After(deadline) {
			for _, st := range out {
				if !taskertest.TaskTerminal(st.Status) {
					require.FailNowf(t, "tasks not finished", "task %d is %s after %s", st.TaskID, st.Status, within)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runs records every handler run by step id.
type runs struct {
	mu sync.Mutex
	by map[int64][]tt.ClaimedStep
}

func (r *runs) add(s *tt.ClaimedStep) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.by == nil {
		r.by = map[int64][]tt.ClaimedStep{}
	}
	r.by[s.WorkflowStepID] = append(r.by[s.WorkflowStepID], *s)
}

func (r *runs) of(id int64) []tt.ClaimedStep {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.by[id]
}

// executors runs n goroutines that loop Next → handler → report until the
// dispatcher is quiet. handler returns results or an error to fail with.
func executors(t *testing.T, d *dispatcher.Dispatcher, n int, rec *runs,
	handler func(s *tt.ClaimedStep) (any, error)) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				s, err := d.Next(ctx)
				cancel()
				if err == dispatcher.ErrStopped {
					return
				}
				if err != nil {
					t.Errorf("next: %v", err)
					return
				}
				if s == nil {
					continue
				}
				rec.add(s)
				out, herr := handler(s)
				rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
				if herr != nil {
					_, err = d.Fail(rctx, &tt.FailParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken,
						Error: tt.StepFailure{Class: "TestError", Message: herr.Error()}})
				} else {
					b, _ := json.Marshal(out)
					_, err = d.Complete(rctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: b})
				}
				rcancel()
				var stale *tt.StaleClaimError
				if err != nil && !errorsAs(err, &stale) {
					t.Errorf("report step %d: %v", s.WorkflowStepID, err)
				}
			}
		})
	}
	return &wg
}
