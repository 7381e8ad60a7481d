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

// The transition rows are written once per statement: a claim and a flush
// of many steps of many tasks must still leave each step and task its own
// well-formed history, and each failed step its own error in its row.
func TestBatchStatementsWriteEachRowsTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	spec := taskertest.DiamondWorkflow(ns)
	var tasks []int64
	for i := range 4 {
		tasks = append(tasks, taskertest.Start(t, e, spec, map[string]any{"i": i}).TaskID)
	}

	claimed, err := e.DispatchClaim(ctx, &engine.DispatchClaimParams{Namespaces: []string{ns}, Limit: 10,
		WorkerID: "batch", Lease: time.Minute})
	require.NoError(t, err)
	require.Len(t, claimed, 4, "one root per task")
	var reports []engine.Report
	for i, s := range claimed {
		if i%2 == 0 {
			reports = append(reports, engine.Report{Kind: engine.ReportComplete, StepID: s.WorkflowStepID,
				ClaimToken: s.ClaimToken, Results: json.RawMessage(`{"ok":true}`)})
			continue
		}
		reports = append(reports, engine.Report{Kind: engine.ReportFail, StepID: s.WorkflowStepID,
			ClaimToken: s.ClaimToken, Failure: &tt.FailParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken,
				Error: tt.StepFailure{Class: "Boom" + string(rune('A'+i)), Message: "failed " + s.StepName}}})
	}
	res, err := e.ReportBatch(ctx, reports, nil)
	require.NoError(t, err)
	for _, o := range res.Outcomes {
		require.NoError(t, o.Err)
	}

	for i, s := range claimed {
		rows := stepTransitions(t, s.WorkflowStepID)
		requireWellFormed(t, rows)
		if i%2 == 0 {
			require.Equal(t, []string{"pending", "in_progress", "complete"}, toStates(rows))
			continue
		}
		require.Equal(t, []string{"pending", "in_progress", "waiting_for_retry"}, toStates(rows))
		var class, message string
		require.NoError(t, taskertest.Pool(t).QueryRow(ctx, `SELECT metadata->>'error_class', metadata->>'error_message'
			FROM tasker_workflow_step_transitions WHERE workflow_step_id = $1 AND most_recent`, s.WorkflowStepID).
			Scan(&class, &message))
		require.Equal(t, "Boom"+string(rune('A'+i)), class)
		require.Equal(t, "failed "+s.StepName, message)
	}
	for _, id := range tasks {
		rows := taskTransitions(t, id)
		requireWellFormed(t, rows)
		require.Equal(t, []string{"pending", "in_progress"}, toStates(rows))
	}
}

// Deleting a task takes its transitions and its steps' transitions with it,
// as the foreign keys' cascade did; so does TRUNCATE ... CASCADE.
func TestDeletingATaskDeletesItsTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := taskertest.FreshDatabase(t)
	e, err := engine.New(pool, engine.Config{})
	require.NoError(t, err)
	_, err = e.Migrate(ctx)
	require.NoError(t, err)
	ns := taskertest.Namespace(t)
	gone := taskertest.Start(t, e, taskertest.DiamondWorkflow(ns), map[string]any{"n": 1}).TaskID
	kept := taskertest.Start(t, e, taskertest.DiamondWorkflow(ns), map[string]any{"n": 2}).TaskID

	count := func(sql string, id int64) int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, sql, id).Scan(&n))
		return n
	}
	const taskRows = `SELECT count(*) FROM tasker_task_transitions WHERE task_id = $1`
	const stepRows = `SELECT count(*) FROM tasker_workflow_step_transitions tr
		WHERE tr.workflow_step_id IN (SELECT workflow_step_id FROM tasker_workflow_steps WHERE task_id = $1)`
	require.Equal(t, 1, count(taskRows, gone))
	steps := count(stepRows, kept)
	require.Positive(t, steps)
	var orphans int

	_, err = pool.Exec(ctx, "DELETE FROM tasker_tasks WHERE task_id = $1", gone)
	require.NoError(t, err)
	require.Zero(t, count(taskRows, gone))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM tasker_workflow_step_transitions tr
		WHERE NOT EXISTS (SELECT 1 FROM tasker_workflow_steps s WHERE s.workflow_step_id = tr.workflow_step_id)`).
		Scan(&orphans))
	require.Zero(t, orphans, "the deleted task's steps' transitions")
	require.Equal(t, 1, count(taskRows, kept))
	require.Equal(t, steps, count(stepRows, kept))

	_, err = pool.Exec(ctx, "TRUNCATE tasker_tasks CASCADE")
	require.NoError(t, err)
	require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM tasker_task_transitions)
		+ (SELECT count(*) FROM tasker_workflow_step_transitions)`).Scan(&orphans))
	require.Zero(t, orphans)
}
