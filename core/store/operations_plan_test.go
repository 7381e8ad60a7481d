package store_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	"github.com/tasker-systems/tasker-core-go/core/store/internal/dbsqlc"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// opsHistory is the number of finished tasks (one step each) the plans are
// made over: enough that a scan of them costs the planner more than any
// index walk.
const opsHistory = 20000

// TestOperationsQueriesUseIndexes plans each query of the operations surface
// over a history of 20,000 finished tasks, a few days of step transitions
// and a little open work: none may read the finished history sequentially,
// and each must walk the index made for it (a name prefix: the ready index
// has a by-namespace twin).
func TestOperationsQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	pool := newOpsHistory(t)
	var templates []int64
	if err := pool.QueryRow(context.Background(), "SELECT array_agg(named_task_id) FROM tasker_named_tasks").Scan(&templates); err != nil {
		t.Fatal(err)
	}
	hour := int64(3600 * 1000)
	cases := []struct {
		name  string
		query string
		args  []any
		index string
	}{
		{"list by state", dbsqlc.TaskListByState, []any{[]string{"error"}, int64(math.MaxInt64), []int64{}, nil, nil, 51},
			"index_task_transitions_current_state"},
		{"list by two states and a template", dbsqlc.TaskListByState,
			[]any{[]string{"error", "pending"}, int64(math.MaxInt64), templates, nil, nil, 51}, "index_task_transitions_current_state"},
		{"list by template", dbsqlc.TaskListByTemplate, []any{templates, int64(math.MaxInt64), nil, nil, 51},
			"index_tasks_on_named_task_id_and_task_id"},
		{"list a later page", dbsqlc.TaskList, []any{int64(opsHistory / 2), nil, nil, 51}, "tasker_tasks_pkey"},
		{"list the last hour", dbsqlc.TaskList, []any{int64(math.MaxInt64), nil, hour, 51}, "index_tasks_on_requested_at"},
		{"task counts", dbsqlc.TaskCountsByState, []any{[]string{"pending", "complete"}}, "index_task_transitions_current_state"},
		{"open step counts", dbsqlc.OpenStepCounts, nil, "index_task_transitions_current_state"},
		{"ready steps", dbsqlc.StepsReadySummary, nil, "index_workflow_steps_ready"},
		{"throughput", dbsqlc.StepThroughput, []any{int32(15)}, "index_step_transitions_created_at_brin"},
		{"stuck steps", dbsqlc.StuckSteps, []any{int64(300000), int64(0), int32(1000)}, "index_workflow_steps_leases"},
		{"stuck tasks", dbsqlc.StuckTasks, []any{int32(1000)}, "index_task_transitions_current_state"},
		{"a task's transitions", dbsqlc.TaskTransitionsForTask, []any{int64(opsHistory / 2), int32(2000)},
			"tasker_task_transitions_task_id_sort_key_key"},
		{"a task's steps' transitions", dbsqlc.StepTransitionsForTask, []any{int64(opsHistory / 2), int32(2001)},
			"tasker_workflow_step_transitions_workflow_step_id_sort_key_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var plan []byte
			if err := pool.QueryRow(context.Background(), "EXPLAIN (FORMAT JSON) "+c.query, c.args...).Scan(&plan); err != nil {
				t.Fatal(err)
			}
			var doc []struct{ Plan planNode }
			if err := json.Unmarshal(plan, &doc); err != nil || len(doc) != 1 {
				t.Fatalf("unexpected EXPLAIN output (%v): %s", err, plan)
			}
			uses := false
			var problems []string
			doc[0].Plan.walk(func(n *planNode) {
				uses = uses || strings.HasPrefix(n.IndexName, c.index)
				switch n.RelationName {
				case "tasker_tasks", "tasker_workflow_steps", "tasker_task_transitions", "tasker_workflow_step_transitions":
					if strings.Contains(n.NodeType, "Seq Scan") {
						problems = append(problems, "sequential scan of "+n.RelationName)
					}
				}
			})
			if !uses {
				problems = append(problems, c.index+" is not used")
			}
			if len(problems) > 0 {
				t.Fatalf("%s: %s\n%s", c.name, strings.Join(problems, "; "), indentJSON(plan))
			}
		})
	}
}

// newOpsHistory makes a database holding opsHistory complete one-step tasks
// requested over the last days, three days of their steps' transitions in
// time order, a few tasks in error, pending and in progress, and fresh
// statistics. The history is written with SQL (what years of completions
// leave behind); the open work goes through the engine.
func newOpsHistory(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, _ := taskertest.FreshDatabase(t)
	if _, err := store.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(pool, engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"history", "open"} {
		if _, err := e.RegisterTemplate(ctx, &tt.TemplateSpec{Namespace: "ops_plan", Name: name, Version: "1.0.0",
			IdentityStrategy: tt.IdentityAlwaysUnique, Steps: []tt.StepSpec{{Name: name + "_step", Handler: "H"}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		// Finished tasks, requested over the days before yesterday, moved
		// pending -> in_progress -> complete as the engine moves them.
		`INSERT INTO tasker_tasks (named_task_id, requested_at, identity_hash)
		 SELECT nt.named_task_id, now() - interval '1 day' - g * interval '13 seconds', 'history-' || g
		   FROM generate_series(1, 20000) g, tasker_named_tasks nt WHERE nt.name = 'history'`,
		`UPDATE tasker_tasks SET status = 'in_progress'`,
		`UPDATE tasker_tasks SET status = 'complete', complete = true, completed_at = requested_at + interval '1 second'`,
		`INSERT INTO tasker_workflow_steps (task_id, named_step_id, task_namespace_id, status, attempts, processed, processed_at)
		 SELECT t.task_id, ns.named_step_id, nt.task_namespace_id, 'complete', 1, true, t.completed_at
		   FROM tasker_tasks t JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
		   JOIN tasker_named_steps ns ON ns.name = 'history_step'`,
		// Three days of transitions before the last few minutes, in time order.
		`INSERT INTO tasker_workflow_step_transitions (workflow_step_id, from_state, to_state, sort_key, most_recent, created_at)
		 SELECT 1, 'in_progress', 'complete', g, false, now() - interval '3 days' + g * interval '2 seconds'
		   FROM generate_series(1, 120000) g`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	for i := range 12 {
		res, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: "ops_plan", Name: "open", Version: "1.0.0",
			Context: json.RawMessage(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 { // some in progress, some failed for good
			claimed, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: res.WorkflowSteps[0].WorkflowStepID, WorkerID: "plan"})
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				if _, err := e.FailStep(ctx, &tt.FailParams{StepID: claimed.WorkflowStepID, ClaimToken: claimed.ClaimToken,
					Permanent: true, Error: tt.StepFailure{Class: "E", Message: "m"}}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE tasker_tasks, tasker_workflow_steps, tasker_task_transitions, tasker_workflow_step_transitions"); err != nil {
		t.Fatal(err)
	}
	return pool
}
