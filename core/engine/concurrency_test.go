package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Eight workers, each claiming batches of five under a 30 s lease, share
// 100 tasks of several shapes: every step runs on exactly one worker, every
// task completes, and every result is stored as its handler returned it.
func TestConcurrentWorkers(t *testing.T) {
	t.Parallel()
	const (
		workers  = 8
		tasks    = 100
		batch    = 5
		leaseMS  = 30_000
		deadline = 40 * time.Second
	)
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)

	builders := []func(string) *tt.TemplateSpec{
		taskertest.SimpleDiamondWorkflow, taskertest.DiamondWorkflow, taskertest.LinearWorkflow,
		taskertest.TreeWorkflow, taskertest.MixedDAGWorkflow, taskertest.OrderFulfillmentWorkflow,
		taskertest.ParallelMergeWorkflow,
	}
	specs := make([]*tt.TemplateSpec, len(builders))
	for i, b := range builders {
		specs[i] = b(ns)
	}
	totalSteps := 0
	taskIDs := make([]int64, 0, tasks)
	for i := range tasks {
		spec := specs[i%len(specs)]
		init := taskertest.Start(t, e, spec, map[string]any{"n": i})
		taskIDs = append(taskIDs, init.TaskID)
		totalSteps += init.StepCount
	}

	var (
		mu        sync.Mutex
		runBy     = map[int64][]string{}        // step id -> worker ids that ran it
		returned  = map[int64]json.RawMessage{} // step id -> results its handler returned
		doneTasks atomic.Int64
		stale     atomic.Int64
	)
	stop := time.Now().Add(deadline)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprintf("worker-%d", w)
			for doneTasks.Load() < tasks {
				if time.Now().After(stop) {
					errs <- fmt.Errorf("%s: deadline with %d of %d tasks complete", worker, doneTasks.Load(), tasks)
					return
				}
				claim, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: batch, WorkerID: worker, LeaseMS: leaseMS})
				if err != nil {
					errs <- fmt.Errorf("%s: claim: %w", worker, err)
					return
				}
				if len(claim.Steps) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				for _, s := range claim.Steps {
					results, _ := json.Marshal(map[string]any{"step_id": s.WorkflowStepID, "step": s.StepName,
						"task_id": s.TaskID, "worker": worker, "parents_seen": len(s.DependencyResults)})
					mu.Lock()
					runBy[s.WorkflowStepID] = append(runBy[s.WorkflowStepID], worker)
					returned[s.WorkflowStepID] = results
					mu.Unlock()
					res, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: results})
					var sce *tt.StaleClaimError
					if errors.As(err, &sce) {
						stale.Add(1)
						continue
					}
					if err != nil {
						errs <- fmt.Errorf("%s: complete %d: %w", worker, s.WorkflowStepID, err)
						return
					}
					if res.TaskStatus == tt.TaskComplete {
						doneTasks.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Zero(t, stale.Load(), "no claim went stale under a 30 s lease")
	require.EqualValues(t, tasks, doneTasks.Load(), "exactly one completion finished each task")

	require.Len(t, runBy, totalSteps, "every step ran")
	workersUsed := map[string]bool{}
	for id, ws := range runBy {
		require.Len(t, ws, 1, "step %d ran on %v", id, ws)
		workersUsed[ws[0]] = true
	}
	require.Greater(t, len(workersUsed), 1, "the work was shared")

	for _, id := range taskIDs {
		st, err := e.TaskStatus(ctx, id)
		require.NoError(t, err)
		require.Equal(t, tt.TaskComplete, st.Status, "task %d", id)
		for _, s := range st.Steps {
			require.Equal(t, tt.StepComplete, s.Status)
			require.Equal(t, 1, s.Attempts, "step %d", s.WorkflowStepID)
			want, ok := returned[s.WorkflowStepID]
			require.True(t, ok, "step %d ran", s.WorkflowStepID)
			requireJSONEqual(t, want, s.Results, "results of step %d", s.WorkflowStepID)
		}
	}
}

// Fifty identical requests at once make exactly one task; each of the other
// 49 is a DuplicateTaskError carrying that task's id.
func TestConcurrentIdentity(t *testing.T) {
	t.Parallel()
	const n = 50
	cases := []struct {
		name     string
		strategy tt.IdentityStrategy
		key      string
		unique   bool
	}{
		{"strict", tt.IdentityStrict, "", false},
		{"caller_provided", tt.IdentityCallerProvided, "order-1234-attempt", false},
		{"always_unique", tt.IdentityAlwaysUnique, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := taskertest.Engine(t)
			ns := taskertest.Namespace(t)
			spec := taskertest.OrderFulfillmentWorkflow(ns)
			spec.IdentityStrategy = c.strategy
			_, err := e.RegisterTemplate(ctx, spec)
			require.NoError(t, err)

			type outcome struct {
				id  int64
				err error
			}
			out := make([]outcome, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					res, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name,
						Context: json.RawMessage(`{"order_id": 1234, "items": [{"sku": "A", "qty": 2}]}`), IdempotencyKey: c.key})
					if err == nil {
						out[i].id = res.TaskID
					}
					out[i].err = err
				}()
			}
			close(start)
			wg.Wait()

			ids := map[int64]bool{}
			var created []int64
			dups := 0
			for _, o := range out {
				if o.err == nil {
					created = append(created, o.id)
					ids[o.id] = true
					continue
				}
				var dup *tt.DuplicateTaskError
				require.ErrorAs(t, o.err, &dup)
				require.Equal(t, tt.CodeDuplicate, tt.CodeOf(o.err))
				require.Equal(t, c.strategy, dup.Strategy)
				dups++
			}
			if c.unique {
				require.Len(t, created, n)
				require.Len(t, ids, n)
				require.Zero(t, dups)
			} else {
				require.Len(t, created, 1, "exactly one request creates the task")
				require.Equal(t, n-1, dups)
				for _, o := range out {
					var dup *tt.DuplicateTaskError
					if errors.As(o.err, &dup) {
						require.Equal(t, created[0], dup.ExistingTaskID)
						require.Equal(t, created[0], dup.Details()["existing_task_id"])
					}
				}
			}
			require.Equal(t, len(created), countRows(t, `SELECT count(*) FROM tasker_tasks t
				JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
				JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id WHERE n.name = $1`, ns))
			require.Equal(t, len(created)*len(spec.Steps), countRows(t, `SELECT count(*) FROM tasker_workflow_steps ws
				JOIN tasker_tasks t ON t.task_id = ws.task_id
				JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
				JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id WHERE n.name = $1`, ns), "a duplicate writes no steps")
		})
	}
}

// Workers whose leases expire mid-step race the workers that reclaim those
// steps: exactly one report per step is accepted, the stored results are
// that report's, and every claim counted an attempt.
func TestConcurrentWorkersWithExpiringLeases(t *testing.T) {
	t.Parallel()
	const (
		workers = 4
		tasks   = 12
		leaseMS = 100
	)
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	// Generous attempts: on a loaded machine an unstalled worker may lose a
	// lease too, and that must not end a task in error here.
	spec := taskertest.SimpleDiamondWorkflow(ns)
	for i := range spec.Steps {
		limit := 10
		spec.Steps[i].RetryLimit = &limit
	}
	taskIDs := make([]int64, tasks)
	total := 0
	for i := range tasks {
		init := taskertest.Start(t, e, spec, map[string]any{"i": i})
		taskIDs[i] = init.TaskID
		total += init.StepCount
	}
	var (
		mu       sync.Mutex
		claims   = map[int64]int{}               // step id -> claims
		accepted = map[int64][]json.RawMessage{} // step id -> accepted results
		stalled  atomic.Int64
		stale    atomic.Int64
		stop     atomic.Bool
	)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprintf("w%d", w)
			for !stop.Load() {
				// One at a time: a worker stalled on one step must not also
				// let the leases of the rest of its batch expire.
				claim, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 1, WorkerID: worker, LeaseMS: leaseMS})
				if err != nil {
					t.Errorf("%s: claim: %v", worker, err)
					return
				}
				if len(claim.Steps) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				for _, s := range claim.Steps {
					mu.Lock()
					claims[s.WorkflowStepID]++
					mu.Unlock()
					if s.Attempts == 1 && s.WorkflowStepID%4 == 0 {
						stalled.Add(1)
						time.Sleep(2 * leaseMS * time.Millisecond) // stall past the lease
					}
					results, _ := json.Marshal(map[string]any{"by": worker, "attempt": s.Attempts, "token": s.ClaimToken})
					_, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: results})
					if tt.CodeOf(err) == tt.CodeStaleClaim {
						stale.Add(1)
						continue
					}
					if err != nil {
						t.Errorf("%s: complete: %v", worker, err)
						return
					}
					mu.Lock()
					accepted[s.WorkflowStepID] = append(accepted[s.WorkflowStepID], results)
					mu.Unlock()
				}
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range taskIDs {
		for !t.Failed() {
			st, err := e.TaskStatus(ctx, id)
			require.NoError(t, err)
			if taskertest.TaskTerminal(st.Status) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("task %d still %s", id, st.Status)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	stop.Store(true)
	wg.Wait()
	require.False(t, t.Failed())
	require.Positive(t, stalled.Load())
	require.Positive(t, stale.Load(), "some stalled worker reported late")
	require.Len(t, accepted, total)
	for _, id := range taskIDs {
		st, err := e.TaskStatus(ctx, id)
		require.NoError(t, err)
		require.Equal(t, tt.TaskComplete, st.Status)
		for _, s := range st.Steps {
			require.Len(t, accepted[s.WorkflowStepID], 1, "step %d: one accepted report", s.WorkflowStepID)
			requireJSONEqual(t, accepted[s.WorkflowStepID][0], s.Results)
			require.Equal(t, claims[s.WorkflowStepID], s.Attempts, "step %d: every claim is an attempt", s.WorkflowStepID)
		}
	}
}

// Cancelling tasks while workers run them: cancelled tasks end with every
// unfinished step cancelled and nothing in progress, the others complete,
// and workers only ever see stale claims for the cancelled ones.
func TestConcurrentCancel(t *testing.T) {
	t.Parallel()
	const (
		workers = 4
		tasks   = 20
	)
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	taskIDs := make([]int64, tasks)
	for i := range tasks {
		taskIDs[i] = taskertest.Start(t, e, taskertest.LinearWorkflow(ns), map[string]any{"i": i}).TaskID
	}
	cancelled := map[int64]bool{}
	for i := 0; i < tasks; i += 2 {
		cancelled[taskIDs[i]] = true
	}
	var (
		staleOn sync.Map // task id -> a stale claim's error
		stop    atomic.Bool
	)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprintf("w%d", w)
			for !stop.Load() {
				claim, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 3, WorkerID: worker})
				if err != nil {
					t.Errorf("%s: claim: %v", worker, err)
					return
				}
				if len(claim.Steps) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				for _, s := range claim.Steps {
					time.Sleep(time.Millisecond)
					_, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: json.RawMessage(`{}`)})
					if tt.CodeOf(err) == tt.CodeStaleClaim {
						staleOn.Store(s.TaskID, err.Error())
						continue
					}
					if err != nil {
						t.Errorf("%s: complete: %v", worker, err)
						return
					}
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	finishedFirst := map[int64]bool{}
	for id := range cancelled {
		_, err := e.CancelTask(ctx, &tt.CancelTaskParams{TaskID: id, Reason: "race"})
		if tt.CodeOf(err) == tt.CodeInvalidTransition {
			finishedFirst[id] = true
			continue
		}
		require.NoError(t, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range taskIDs {
		for {
			st, err := e.TaskStatus(ctx, id)
			require.NoError(t, err)
			if taskertest.TaskTerminal(st.Status) {
				break
			}
			require.True(t, time.Now().Before(deadline), "task %d stuck in %s", id, st.Status)
			time.Sleep(5 * time.Millisecond)
		}
	}
	stop.Store(true)
	wg.Wait()

	for _, id := range taskIDs {
		st, err := e.TaskStatus(ctx, id)
		require.NoError(t, err)
		if !cancelled[id] || finishedFirst[id] {
			require.Equal(t, tt.TaskComplete, st.Status, "task %d", id)
			why, ok := staleOn.Load(id)
			require.False(t, ok, "no stale claim on task %d, which was not cancelled: %v", id, why)
			continue
		}
		require.Equal(t, tt.TaskCancelled, st.Status, "task %d", id)
		for _, s := range st.Steps {
			require.Contains(t, []tt.StepState{tt.StepComplete, tt.StepCancelled}, s.Status, "task %d step %s", id, s.Name)
			require.False(t, s.InProcess)
		}
	}
}
