package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// opsBundle is an engine on a database of its own (the operations surface
// reads every task), with two one-step templates in one namespace.
type opsBundle struct {
	e    *engine.Engine
	pool *pgxpool.Pool
	ns   string
}

func setupOps(t *testing.T) *opsBundle {
	t.Helper()
	ctx := context.Background()
	pool, _ := taskertest.FreshDatabase(t)
	_, err := store.Migrate(ctx, pool)
	require.NoError(t, err)
	e, err := engine.New(pool, engine.Config{Backoff: taskertest.FastBackoff()})
	require.NoError(t, err)
	b := &opsBundle{e: e, pool: pool, ns: taskertest.Namespace(t)}
	for _, name := range []string{"alpha", "beta"} {
		_, err := e.RegisterTemplate(ctx, &tt.TemplateSpec{Namespace: b.ns, Name: name, Version: "1.0.0",
			IdentityStrategy: tt.IdentityAlwaysUnique, Steps: []tt.StepSpec{{Name: name + "_step", Handler: "H", RetryLimit: intPtr(1)}}})
		require.NoError(t, err)
	}
	return b
}

func intPtr(i int) *int { return &i }

func (b *opsBundle) start(t *testing.T, name string) int64 {
	t.Helper()
	res, err := b.e.InitializeTask(context.Background(), &tt.TaskRequest{Namespace: b.ns, Name: name,
		Context: json.RawMessage(`{}`)})
	require.NoError(t, err)
	return res.TaskID
}

// run claims a task's one step and completes or fails it for good.
func (b *opsBundle) run(t *testing.T, taskID int64, ok bool) {
	t.Helper()
	ctx := context.Background()
	st, err := b.e.TaskStatus(ctx, taskID)
	require.NoError(t, err)
	s, err := b.e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: st.Steps[0].WorkflowStepID, WorkerID: "ops"})
	require.NoError(t, err)
	if ok {
		_, err = b.e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken,
			Results: json.RawMessage(`{}`)})
	} else {
		_, err = b.e.FailStep(ctx, &tt.FailParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Permanent: true,
			Error: tt.StepFailure{Class: "Boom", Message: "boom"}})
	}
	require.NoError(t, err)
}

// pages lists every page of p, running between(i) after page i, and returns
// the ids in the order seen.
func (b *opsBundle) pages(t *testing.T, p tt.TaskListParams, between func(page int)) []int64 {
	t.Helper()
	var ids []int64
	for page := 0; ; page++ {
		res, err := b.e.ListTasks(context.Background(), &p)
		require.NoError(t, err)
		require.LessOrEqual(t, len(res.Tasks), p.Limit)
		for _, task := range res.Tasks {
			ids = append(ids, task.TaskID)
		}
		if res.NextBeforeTaskID == nil {
			return ids
		}
		require.Len(t, res.Tasks, p.Limit, "a page before the last is full")
		require.Equal(t, res.Tasks[len(res.Tasks)-1].TaskID, *res.NextBeforeTaskID)
		p.BeforeTaskID = *res.NextBeforeTaskID
		if between != nil {
			between(page)
		}
	}
}

// Paging with a filter sees every task that matched when paging began
// exactly once, newest first, while new tasks (some of them matching) keep
// arriving between pages.
func TestListTasksPagesStayCorrectUnderInserts(t *testing.T) {
	t.Parallel()
	b := setupOps(t)
	type known struct {
		id     int64
		name   string
		failed bool
	}
	var tasks []known // every task created, oldest first
	add := func(name string, failed bool) {
		id := b.start(t, name)
		if failed {
			b.run(t, id, false)
		}
		tasks = append(tasks, known{id, name, failed})
	}
	for i := range 23 {
		add([]string{"alpha", "beta"}[i%2], i%5 == 0)
	}
	for _, c := range []struct {
		name    string
		p       tt.TaskListParams
		matches func(k known) bool
	}{
		{"all", tt.TaskListParams{Limit: 4}, func(known) bool { return true }},
		{"by state", tt.TaskListParams{States: []tt.TaskState{tt.TaskError}, Limit: 2}, func(k known) bool { return k.failed }},
		{"by template", tt.TaskListParams{Namespace: b.ns, Name: "alpha", Limit: 3}, func(k known) bool { return k.name == "alpha" }},
		{"by namespace and two states", tt.TaskListParams{Namespace: b.ns, States: []tt.TaskState{tt.TaskError, tt.TaskPending},
			Limit: 5}, func(known) bool { return true }},
		{"by template and state", tt.TaskListParams{Namespace: b.ns, Name: "beta", States: []tt.TaskState{tt.TaskPending},
			Limit: 1}, func(k known) bool { return k.name == "beta" && !k.failed }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var want []int64
			for i := len(tasks) - 1; i >= 0; i-- {
				if c.matches(tasks[i]) {
					want = append(want, tasks[i].id)
				}
			}
			got := b.pages(t, c.p, func(int) {
				add("alpha", false)
				add("beta", true)
				add("beta", false)
			})
			require.Equal(t, want, got, "each task once, newest first, none inserted while paging")
		})
	}
}

// The age filters keep tasks requested before or after a moment.
func TestListTasksByAge(t *testing.T) {
	t.Parallel()
	b := setupOps(t)
	old, recent := b.start(t, "alpha"), b.start(t, "beta")
	_, err := b.pool.Exec(context.Background(),
		"UPDATE tasker_tasks SET requested_at = now() - interval '3 hours' WHERE task_id = $1", old)
	require.NoError(t, err)
	ids := func(p tt.TaskListParams) []int64 {
		p.Limit = 10
		return b.pages(t, p, nil)
	}
	require.Equal(t, []int64{old}, ids(tt.TaskListParams{OlderThanSeconds: 3600}))
	require.Equal(t, []int64{recent}, ids(tt.TaskListParams{NewerThanSeconds: 3600}))
	require.Equal(t, []int64{old}, ids(tt.TaskListParams{OlderThanSeconds: 7000, NewerThanSeconds: 4 * 3600}))
	require.Equal(t, []int64{recent, old}, ids(tt.TaskListParams{}))
}

// A listed task carries its template and its steps' tally.
func TestListTasksSummaries(t *testing.T) {
	t.Parallel()
	b := setupOps(t)
	id := b.start(t, "alpha")
	b.run(t, id, false)
	res, err := b.e.ListTasks(context.Background(), &tt.TaskListParams{})
	require.NoError(t, err)
	require.Len(t, res.Tasks, 1)
	got := res.Tasks[0]
	require.Equal(t, tt.TaskSummary{TaskID: id, Namespace: b.ns, Name: "alpha", Version: "1.0.0", Status: tt.TaskError,
		RequestedAt: got.RequestedAt, UpdatedAt: got.UpdatedAt, Steps: tt.StepTally{Total: 1, Failed: 1}}, got)
	require.Nil(t, res.NextBeforeTaskID)
}

// Bad filters are refused with a message naming the field and what is
// allowed; unknown templates are not found.
func TestListTasksRefusesBadFilters(t *testing.T) {
	t.Parallel()
	b := setupOps(t)
	for _, c := range []struct {
		p    tt.TaskListParams
		code tt.Code
		msg  string
	}{
		{tt.TaskListParams{States: []tt.TaskState{"error", "runing"}}, tt.CodeValidation,
			`list_tasks: states[1]: unknown task state "runing"; valid states: pending, in_progress, complete, error, cancelled, resolved_manually`},
		{tt.TaskListParams{Limit: 100000}, tt.CodeValidation, "list_tasks: limit: must be within 1..500, got 100000"},
		{tt.TaskListParams{Limit: -1}, tt.CodeValidation, "list_tasks: limit: must be within 1..500, got -1"},
		{tt.TaskListParams{Name: "alpha"}, tt.CodeValidation, "list_tasks: name: needs a namespace"},
		{tt.TaskListParams{OlderThanSeconds: 7200, NewerThanSeconds: 3600}, tt.CodeValidation,
			"list_tasks: older_than_seconds: must be less than newer_than_seconds (3600), got 7200: no task can match"},
		{tt.TaskListParams{BeforeTaskID: -5}, tt.CodeValidation, "list_tasks: before_task_id: must be >= 0 (0: from the newest task), got -5"},
		{tt.TaskListParams{Namespace: "nowhere"}, tt.CodeNotFound, `namespace nowhere not found`},
		{tt.TaskListParams{Namespace: b.ns, Name: "alpha", Version: "9.9.9"}, tt.CodeNotFound,
			fmt.Sprintf("template %s/alpha@9.9.9 not found", b.ns)},
	} {
		_, err := b.e.ListTasks(context.Background(), &c.p)
		requireCode(t, err, c.code)
		require.EqualError(t, err, c.msg)
	}
}

// Stats count tasks and open steps by state, the ready steps and the oldest
// one's wait, and each minute's completions and failed attempts, from the
// stored rows.
func TestStatsCountsAndThroughput(t *testing.T) {
	t.Parallel()
	b := setupOps(t)
	ctx := context.Background()
	empty, err := b.e.Stats(ctx, &tt.StatsParams{Minutes: 5})
	require.NoError(t, err)
	require.Zero(t, empty.ReadySteps)
	require.Nil(t, empty.OldestReadySeconds)
	require.Len(t, empty.Throughput, 5)

	for range 3 {
		b.run(t, b.start(t, "alpha"), true)
	}
	b.run(t, b.start(t, "beta"), false)
	b.start(t, "beta")
	waiting := b.start(t, "alpha")
	_, err = b.pool.Exec(ctx, "UPDATE tasker_workflow_steps SET created_at = now() - interval '90 seconds' WHERE task_id = $1", waiting)
	require.NoError(t, err)

	s, err := b.e.Stats(ctx, &tt.StatsParams{Minutes: 3})
	require.NoError(t, err)
	require.Equal(t, map[tt.TaskState]int64{tt.TaskPending: 2, tt.TaskInProgress: 0, tt.TaskComplete: 3, tt.TaskError: 1,
		tt.TaskCancelled: 0, tt.TaskResolvedManually: 0}, s.Tasks)
	require.Equal(t, int64(2), s.OpenSteps[tt.StepPending])
	require.Equal(t, int64(1), s.OpenSteps[tt.StepError])
	require.Zero(t, s.OpenSteps[tt.StepComplete], "steps of complete tasks are history, not open work")
	require.Equal(t, int64(2), s.ReadySteps)
	require.NotNil(t, s.OldestReadySeconds)
	require.InDelta(t, 90, *s.OldestReadySeconds, 30)
	require.Len(t, s.Throughput, 3)
	var completed, failed int64
	for i, m := range s.Throughput {
		if i > 0 {
			require.Equal(t, time.Minute, m.Minute.Sub(s.Throughput[i-1].Minute))
		}
		completed += m.Completed
		failed += m.Failed
	}
	require.Equal(t, int64(3), completed)
	require.Equal(t, int64(1), failed)
	require.Equal(t, map[tt.StuckKind]int64{tt.StuckLeaseExpired: 0, tt.StuckPastTimeout: 0, tt.StuckNoRunnableStep: 0}, s.Stuck)

	for _, m := range []int{-1, tt.MaxStatsMinutes + 1} {
		_, err := b.e.Stats(ctx, &tt.StatsParams{Minutes: m})
		require.EqualError(t, err, fmt.Sprintf("stats: minutes: must be within 1..1440, got %d", m))
	}
}
