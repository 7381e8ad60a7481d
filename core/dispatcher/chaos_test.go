package dispatcher_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// The chaos test runs real worker processes (this test binary again, in
// TestChaosWorkerProcess) and kills them with SIGKILL while they hold steps.
// TASKER_CHAOS_LONG=1 (make chaos) runs the long version.

const chaosChildEnv = "TASKER_CHAOS_CHILD"

func TestKillNineWorkersLoseNothing(t *testing.T) {
	if os.Getenv(chaosChildEnv) != "" {
		t.Skip("a chaos child")
	}
	tasks, kills := 40, 6
	if os.Getenv("TASKER_CHAOS_LONG") != "" {
		tasks, kills = 300, 20
	}
	b := setupFresh(t)
	limit := 20 // every kill costs the steps in flight an attempt: leave room for many
	spec := &tt.TemplateSpec{Namespace: b.ns, Name: "chaos", Version: "1.0.0", Steps: []tt.StepSpec{
		{Name: "a", Handler: "A", RetryLimit: &limit},
		{Name: "b", Handler: "B", DependsOn: []string{"a"}, RetryLimit: &limit},
		{Name: "c", Handler: "C", DependsOn: []string{"a"}, RetryLimit: &limit},
		{Name: "d", Handler: "D", DependsOn: []string{"b", "c"}, RetryLimit: &limit},
	}}
	b.register(t, spec)
	ctx := context.Background()
	_, err := b.eng.Pool().Exec(ctx, `CREATE TABLE chaos_runs (step_id bigint, attempt int, pid int, at timestamptz DEFAULT now())`)
	require.NoError(t, err)
	ids := b.tasks(t, "chaos", tasks)

	url := b.eng.Pool().Config().ConnString()
	spawn := func(n int) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChaosWorkerProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), chaosChildEnv+"=1", "TASKER_CHAOS_URL="+url, "TASKER_CHAOS_NS="+b.ns,
			"TASKER_CHAOS_ID="+strconv.Itoa(n))
		require.NoError(t, cmd.Start())
		return cmd
	}
	workers := []*exec.Cmd{spawn(0), spawn(1), spawn(2)}
	t.Cleanup(func() {
		for _, w := range workers {
			_ = w.Process.Kill()
			_ = w.Wait()
		}
	})
	for k := range kills {
		time.Sleep(time.Duration(400+rand.IntN(600)) * time.Millisecond)
		i := rand.IntN(len(workers))
		require.NoError(t, workers[i].Process.Signal(syscall.SIGKILL))
		_ = workers[i].Wait()
		workers[i] = spawn(3 + k)
	}
	statuses := b.waitTasks(t, ids, 180*time.Second)

	for _, st := range statuses {
		require.Equal(t, tt.TaskComplete, st.Status, "task %d", st.TaskID)
		for _, s := range st.Steps {
			require.Equal(t, tt.StepComplete, s.Status, "step %d", s.WorkflowStepID)
		}
	}
	var steps, completions, unrunErrors, rescued int
	require.NoError(t, b.eng.Pool().QueryRow(ctx, `
		SELECT count(DISTINCT ws.workflow_step_id),
		       count(*) FILTER (WHERE tr.to_state = 'complete'),
		       count(*) FILTER (WHERE tr.to_state = 'error'),
		       count(*) FILTER (WHERE tr.to_state = 'waiting_for_retry' AND tr.metadata->>'event' = 'lease_expired')
		  FROM tasker_workflow_steps ws
		  JOIN tasker_workflow_step_transitions tr ON tr.workflow_step_id = ws.workflow_step_id`).
		Scan(&steps, &completions, &unrunErrors, &rescued))
	require.Equal(t, tasks*4, steps)
	require.Equal(t, steps, completions, "every step has exactly one completion")
	require.Zero(t, unrunErrors, "no step went to error")
	var neverRun int
	require.NoError(t, b.eng.Pool().QueryRow(ctx, `
		SELECT count(*) FROM tasker_workflow_steps ws
		 WHERE NOT EXISTS (SELECT 1 FROM chaos_runs r WHERE r.step_id = ws.workflow_step_id)`).Scan(&neverRun))
	require.Zero(t, neverRun, "every completed step's handler ran")
	t.Logf("%d tasks, %d kills: %d steps, %d lease rescues", tasks, kills, steps, rescued)
}

// TestChaosWorkerProcess is a worker process for the chaos test: 4
// executors whose handlers take 100-300ms, until it is killed.
func TestChaosWorkerProcess(t *testing.T) {
	if os.Getenv(chaosChildEnv) == "" {
		t.Skip("run by TestKillNineWorkersLoseNothing")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("TASKER_CHAOS_URL"))
	require.NoError(t, err)
	eng, err := engine.New(pool, engine.Config{})
	require.NoError(t, err)
	d, err := dispatcher.New(eng, dispatcher.Config{
		WorkerID: fmt.Sprintf("chaos-%s-%d", os.Getenv("TASKER_CHAOS_ID"), os.Getpid()), Namespaces: []string{os.Getenv("TASKER_CHAOS_NS")},
		Lease: time.Second, RescueInterval: 200 * time.Millisecond, FetchPollInterval: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, d.Start(ctx))
	for range 4 {
		go func() {
			for {
				s, err := d.Next(ctx)
				if err != nil || s == nil {
					continue
				}
				if _, err := pool.Exec(ctx, `INSERT INTO chaos_runs (step_id, attempt, pid) VALUES ($1, $2, $3)`,
					s.WorkflowStepID, s.Attempts, os.Getpid()); err != nil {
					continue // the lease expires and the step runs elsewhere
				}
				time.Sleep(time.Duration(100+rand.IntN(200)) * time.Millisecond)
				out, _ := json.Marshal(map[string]int{"pid": os.Getpid()})
				_, _ = d.Complete(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: out})
			}
		}()
	}
	select {} // until SIGKILL
}
