package dispatcher_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// behindPgBouncer is a PgBouncer in transaction mode in front of the
// package's database, with all its server connections open.
func behindPgBouncer(t *testing.T) string {
	t.Helper()
	bouncer := taskertest.StartPgBouncer(t)
	through := bouncer.URL(t, taskertest.URL(t))
	bouncer.OpenServers(t, through)
	return through
}

// openEngine opens an engine on url with a pool twice PgBouncer's server
// connections, closed at cleanup.
func openEngine(t *testing.T, url string, cfg engine.Config) *engine.Engine {
	t.Helper()
	cfg.PoolSize = 2 * taskertest.PgBouncerPoolSize
	cfg.Backoff = taskertest.FastBackoff()
	e, err := engine.Open(context.Background(), url, cfg)
	require.NoError(t, err)
	t.Cleanup(e.Close)
	return e
}

// Two worker processes (each an engine and a dispatcher) share three server
// connections through PgBouncer in transaction mode, with no LISTEN: they
// claim, run, retry and complete every step, and their maintenance loops
// rescue the lease of a worker that crashed holding a claim. Nothing they
// log is a warning (a prepared statement that went missing would be).
func TestPgBouncerTwoDispatchersFinishEveryTask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	through := behindPgBouncer(t)
	logs := &lockedLog{}
	cfg := engine.Config{PgBouncer: true, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	ns := taskertest.Namespace(t)
	a := &testBundle{eng: openEngine(t, through, cfg), ns: ns}
	b := &testBundle{eng: openEngine(t, through, cfg), ns: ns}
	require.Nil(t, a.eng.ListenConfig(), "no LISTEN through PgBouncer")
	a.register(t, taskertest.DiamondWorkflow(ns))
	ids := a.tasks(t, "diamond_workflow", 8)

	// A worker that crashed holding a claim: only a maintenance round gives
	// its step back.
	crashed, err := b.eng.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 1, WorkerID: "crashed", LeaseMS: 200})
	require.NoError(t, err)
	require.Len(t, crashed.Steps, 1)
	lost := crashed.Steps[0].WorkflowStepID

	dcfg := dispatcher.Config{Lease: 10 * time.Second, RescueInterval: 50 * time.Millisecond}
	da, db := a.start(t, dcfg), b.start(t, dcfg)
	rec := &runs{}
	var mu sync.Mutex
	failed := map[int64]bool{}
	handler := func(s *tt.ClaimedStep) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if s.StepName == "merge_branches" && !failed[s.TaskID] {
			failed[s.TaskID] = true
			return nil, errors.New("flaky merge")
		}
		return map[string]any{"step": s.StepName}, nil
	}
	wgA, wgB := executors(t, da, 3, rec, handler), executors(t, db, 3, rec, handler)
	tasks := a.waitTasks(t, ids, 60*time.Second)
	da.Quiet()
	db.Quiet()
	wgA.Wait()
	wgB.Wait()

	for _, st := range tasks {
		require.Equal(t, tt.TaskComplete, st.Status, "task %d", st.TaskID)
		for _, s := range st.Steps {
			require.Equal(t, tt.StepComplete, s.Status, "step %s of task %d", s.Name, st.TaskID)
			if s.Name == "merge_branches" {
				require.Equal(t, 2, s.Attempts, "merge_branches of task %d failed once, then passed", st.TaskID)
			}
		}
	}
	require.NotEmpty(t, rec.of(lost), "the crashed worker's step ran after its lease was rescued")
	require.EqualValues(t, 1, da.Stats().Rescued+db.Stats().Rescued, "one maintenance leader rescued the lost lease, once")
	require.Positive(t, da.Stats().Completed+db.Stats().Completed)
	require.Empty(t, logs.String(), "warnings while working through PgBouncer")
}

// With a direct listen URL beside PgBouncer, a step made ready by another
// process wakes an idle producer at once: its poll (ten minutes here) would
// never find it within the test.
func TestPgBouncerListenURLWakesTheProducer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	through := behindPgBouncer(t)
	app := fmt.Sprintf("tasker_listen_%d", time.Now().UnixNano())
	direct, err := url.Parse(taskertest.URL(t))
	require.NoError(t, err)
	q := direct.Query()
	q.Set("application_name", app)
	direct.RawQuery = q.Encode()
	b := &testBundle{eng: openEngine(t, through, engine.Config{PgBouncer: true, ListenURL: direct.String()}), ns: taskertest.Namespace(t)}
	b.register(t, &tt.TemplateSpec{Namespace: b.ns, Name: "one", Version: "1.0.0", Steps: []tt.StepSpec{{Name: "only", Handler: "Only"}}})
	d := b.start(t, dispatcher.Config{FetchPollInterval: 10 * time.Minute})

	next := make(chan *tt.ClaimedStep, 1)
	go func() {
		nctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		s, _ := d.Next(nctx)
		next <- s
	}()
	// The producer has claimed for the waiting executor and found nothing,
	// and the listener is listening on the direct connection.
	require.Eventually(t, func() bool { return d.Stats().Claims >= 1 && d.Stats().Waiting == 1 }, 30*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, taskertest.Pool(t).QueryRow(ctx,
			`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query ILIKE 'listen %'`, app).Scan(&n))
		return n == 1
	}, 30*time.Second, 10*time.Millisecond, "the dispatcher never LISTENed on the listen URL")
	claims := d.Stats().Claims

	ids := b.tasks(t, "one", 1) // through PgBouncer: its NOTIFY goes out at commit
	select {
	case s := <-next:
		require.NotNil(t, s, "Next gave up: the NOTIFY never woke the producer")
		require.Equal(t, ids[0], s.TaskID)
		require.Greater(t, d.Stats().Claims, claims)
		_, err := d.Complete(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: []byte(`{}`)})
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		require.FailNow(t, "the NOTIFY never woke the producer")
	}
}

// lockedLog collects log output written from many goroutines.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
