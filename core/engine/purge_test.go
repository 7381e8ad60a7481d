package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// rowsOfTask counts what the database holds of a task: its row, steps,
// edges, task transitions and step transitions (by step id, so they are
// counted after the steps are gone too).
func rowsOfTask(t *testing.T, task *tt.InitializeResult) [5]int {
	t.Helper()
	stepIDs := make([]int64, 0, len(task.StepMapping))
	for _, id := range task.StepMapping {
		stepIDs = append(stepIDs, id)
	}
	return [5]int{
		countRows(t, `SELECT count(*) FROM tasker_tasks WHERE task_id = $1`, task.TaskID),
		countRows(t, `SELECT count(*) FROM tasker_workflow_steps WHERE task_id = $1`, task.TaskID),
		countRows(t, `SELECT count(*) FROM tasker_workflow_step_edges WHERE to_step_id = ANY($1) OR from_step_id = ANY($1)`, stepIDs),
		countRows(t, `SELECT count(*) FROM tasker_task_transitions WHERE task_id = $1`, task.TaskID),
		countRows(t, `SELECT count(*) FROM tasker_workflow_step_transitions WHERE workflow_step_id = ANY($1)`, stepIDs),
	}
}

// A purged task leaves nothing behind (steps, edges, transitions, results),
// its identity can be used again, and other tasks are untouched.
func TestPurgeTasksDeletesEverythingOfATask(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	spec := taskertest.DiamondWorkflow(ns)
	_, err := e.RegisterTemplate(ctx, spec)
	require.NoError(t, err)
	request := &tt.TaskRequest{Namespace: ns, Name: spec.Name, Context: json.RawMessage(`{"order":1}`)}
	doomed, err := e.InitializeTask(ctx, request)
	require.NoError(t, err)
	kept := taskertest.Start(t, e, spec, map[string]any{"order": 2})

	// Run the first step, so the task has results and more transitions.
	start, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: doomed.StepMapping["start"], WorkerID: "w1"})
	require.NoError(t, err)
	_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: start.WorkflowStepID, ClaimToken: start.ClaimToken, Results: json.RawMessage(`{"s":1}`)})
	require.NoError(t, err)
	before := rowsOfTask(t, doomed)
	require.Equal(t, 1, before[0])
	for i, n := range before {
		require.Positive(t, n, "before the purge, part %d of the task exists: %v", i, before)
	}
	keptBefore := rowsOfTask(t, kept)

	_, err = e.InitializeTask(ctx, request)
	requireCode(t, err, tt.CodeDuplicate, "the same request before the purge")

	res, err := e.PurgeTasks(ctx, &tt.PurgeTasksParams{TaskIDs: []int64{doomed.TaskID, doomed.TaskID}})
	require.NoError(t, err)
	require.Equal(t, &tt.PurgeResult{PurgedTasks: 1, PurgedSteps: int64(doomed.StepCount), MissingTaskIDs: []int64{}}, res)
	require.Equal(t, [5]int{}, rowsOfTask(t, doomed), "nothing of the purged task is left")
	require.Equal(t, keptBefore, rowsOfTask(t, kept), "the other task is untouched")

	_, err = e.TaskStatus(ctx, doomed.TaskID)
	requireCode(t, err, tt.CodeNotFound)
	again, err := e.InitializeTask(ctx, request)
	require.NoError(t, err, "the identity of a purged task can be used again")
	require.NotEqual(t, doomed.TaskID, again.TaskID)
}

// Ids that name no task are named in the error and nothing is purged;
// with skip_missing the others are purged and the missing ones listed.
func TestPurgeTasksUnknownIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	spec := taskertest.LinearWorkflow(taskertest.Namespace(t))
	a := taskertest.Start(t, e, spec, nil)
	b := taskertest.Start(t, e, spec, nil)
	const gone1, gone2 = int64(1) << 60, int64(1)<<60 + 7

	_, err := e.PurgeTasks(ctx, &tt.PurgeTasksParams{TaskIDs: []int64{gone2, a.TaskID, gone1}})
	requireCode(t, err, tt.CodeNotFound)
	var nf *tt.TasksNotFoundError
	require.ErrorAs(t, err, &nf)
	require.Equal(t, []int64{gone1, gone2}, nf.IDs)
	require.Contains(t, err.Error(), "no task 1152921504606846976 or 1152921504606846983, nothing was purged")
	require.Equal(t, 1, countRows(t, `SELECT count(*) FROM tasker_tasks WHERE task_id = $1`, a.TaskID), "nothing purged")

	res, err := e.PurgeTasks(ctx, &tt.PurgeTasksParams{TaskIDs: []int64{gone2, a.TaskID, b.TaskID, gone1}, SkipMissing: true})
	require.NoError(t, err)
	require.EqualValues(t, 2, res.PurgedTasks)
	require.Equal(t, []int64{gone1, gone2}, res.MissingTaskIDs)
	require.Zero(t, countRows(t, `SELECT count(*) FROM tasker_tasks WHERE task_id = ANY($1)`, []int64{a.TaskID, b.TaskID}))

	res, err = e.PurgeTasks(ctx, &tt.PurgeTasksParams{TaskIDs: []int64{a.TaskID}, SkipMissing: true})
	require.NoError(t, err, "purging an already purged task with skip_missing is a no-op")
	require.Equal(t, &tt.PurgeResult{MissingTaskIDs: []int64{a.TaskID}}, res)
}

// Bad input is a ValidationError naming the field, before the database is
// touched: no ids (never "all"), too many ids, ids <= 0.
func TestPurgeTasksBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	tooMany := make([]int64, tt.MaxPurgeTaskIDs+1)
	for i := range tooMany {
		tooMany[i] = int64(1)<<60 + int64(i) // no task has these ids: other tests' tasks share the database
	}
	for _, c := range []struct {
		name    string
		p       *tt.PurgeTasksParams
		field   string
		problem string
	}{
		{"nil", nil, "", "parameters are required"},
		{"empty", &tt.PurgeTasksParams{}, "task_ids", "must name at least one task"},
		{"too many", &tt.PurgeTasksParams{TaskIDs: tooMany}, "task_ids", "must have at most 10000 ids, got 10001"},
		{"zero", &tt.PurgeTasksParams{TaskIDs: []int64{5, 0, -3}}, "task_ids[1]", "must be > 0, got 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.PurgeTasks(ctx, c.p)
			var v *tt.ValidationError
			require.ErrorAs(t, err, &v)
			require.Equal(t, c.field, v.Problems[0].Field)
			require.Contains(t, v.Problems[0].Problem, c.problem)
		})
	}
	_, err := e.PurgeTasks(ctx, &tt.PurgeTasksParams{TaskIDs: []int64{5, 0, -3}})
	var v *tt.ValidationError
	require.ErrorAs(t, err, &v)
	require.Len(t, v.Problems, 2, "every bad id is named: %v", err)
	_, err = e.PurgeAllTasks(ctx, nil)
	require.ErrorAs(t, err, &v)

	// The limit itself is accepted (with skip_missing, ids that name no task are listed).
	res, err := e.PurgeTasks(ctx, &tt.PurgeTasksParams{TaskIDs: tooMany[:tt.MaxPurgeTaskIDs], SkipMissing: true})
	require.NoError(t, err)
	require.EqualValues(t, 0, res.PurgedTasks)
	require.Len(t, res.MissingTaskIDs, tt.MaxPurgeTaskIDs)
}

// A task whose step a worker holds is refused, naming the step and the
// worker, and nothing is purged; force purges it, and the worker's report
// is then refused. A step whose lease has expired is not held.
func TestPurgeTasksHeldByAWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	spec := taskertest.LinearWorkflow(ns)
	held := taskertest.Start(t, e, spec, nil)
	free := taskertest.Start(t, e, spec, nil)
	claim, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: held.WorkflowSteps[0].WorkflowStepID, WorkerID: "host:42:w1", LeaseMS: 60_000})
	require.NoError(t, err)

	_, err = e.PurgeTasks(ctx, &tt.PurgeTasksParams{TaskIDs: []int64{free.TaskID, held.TaskID}})
	requireCode(t, err, tt.CodeConflict)
	var he *tt.TasksHeldError
	require.ErrorAs(t, err, &he)
	require.Equal(t, 1, he.Count)
	require.Equal(t, held.TaskID, he.Held[0].TaskID)
	require.Equal(t, claim.WorkflowStepID, he.Held[0].StepID)
	require.Equal(t, "host:42:w1", he.Held[0].ClaimedBy)
	require.Contains(t, err.Error(), `claimed by "host:42:w1"`)
	require.Equal(t, []int64{held.TaskID}, he.Details()["task_ids"])
	require.Equal(t, 1, countRows(t, `SELECT count(*) FROM tasker_tasks WHERE task_id = $1`, free.TaskID), "nothing purged")

	res, err := e.PurgeTasks(ctx, &tt.PurgeTasksParams{TaskIDs: []int64{free.TaskID, held.TaskID}, Force: true})
	require.NoError(t, err)
	require.EqualValues(t, 2, res.PurgedTasks)
	_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: claim.WorkflowStepID, ClaimToken: claim.ClaimToken, Results: json.RawMessage(`{}`)})
	requireCode(t, err, tt.CodeNotFound, "the worker's report on a purged step")

	expired := taskertest.Start(t, e, spec, nil)
	_, err = e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: expired.WorkflowSteps[0].WorkflowStepID, WorkerID: "gone", LeaseMS: 1})
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond)
	_, err = e.PurgeTasks(ctx, &tt.PurgeTasksParams{TaskIDs: []int64{expired.TaskID}})
	require.NoError(t, err, "a step whose lease expired is held by nobody")
}

// PurgeAllTasks empties the tasks of a database and leaves templates
// registered. It runs on a database of its own: it would take the other
// tests' tasks.
func TestPurgeAllTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := taskertest.FreshDatabase(t)
	e, err := engine.New(pool, engine.Config{})
	require.NoError(t, err)
	_, err = e.Migrate(ctx)
	require.NoError(t, err)
	spec := taskertest.DiamondWorkflow("purge_all")
	a := taskertest.Start(t, e, spec, nil)
	taskertest.Start(t, e, spec, nil)
	_, err = e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: a.WorkflowSteps[0].WorkflowStepID, WorkerID: "w", LeaseMS: 60_000})
	require.NoError(t, err)

	_, err = e.PurgeAllTasks(ctx, &tt.PurgeAllTasksParams{})
	requireCode(t, err, tt.CodeConflict, "a held step refuses the purge")
	res, err := e.PurgeAllTasks(ctx, &tt.PurgeAllTasksParams{Force: true})
	require.NoError(t, err)
	require.Equal(t, &tt.PurgeResult{PurgedTasks: 2, PurgedSteps: int64(2 * a.StepCount), MissingTaskIDs: []int64{}}, res)
	for _, table := range []string{"tasker_tasks", "tasker_workflow_steps", "tasker_workflow_step_edges",
		"tasker_task_transitions", "tasker_workflow_step_transitions"} {
		var n int
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n))
		require.Zero(t, n, table)
	}
	taskertest.Start(t, e, spec, nil) // the template is still registered
	res, err = e.PurgeAllTasks(ctx, &tt.PurgeAllTasksParams{})
	require.NoError(t, err)
	require.EqualValues(t, 1, res.PurgedTasks)
}
