package engine_test

import (
	"context"
	"slices"
	"testing"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

type shapeScenario int

const (
	happyPath shapeScenario = iota
	retryThenSuccess
	retryExhaustion
	permanentFailure
)

func (s shapeScenario) String() string {
	return [...]string{"happy_path", "retry_then_success", "retry_exhaustion", "permanent_failure"}[s]
}

// Each shape with the middle step the failure scenarios break: one with
// parents and children, so that both its descendants and the steps
// independent of it are exercised.
var shapeCases = []struct {
	shape  taskertest.Shape
	middle string
}{
	{taskertest.Shape{Name: "linear", Build: taskertest.LinearWorkflow}, "process_data"},
	{taskertest.Shape{Name: "diamond", Build: taskertest.DiamondWorkflow}, "branch_a_process"},
	{taskertest.Shape{Name: "parallel_merge", Build: taskertest.ParallelMergeWorkflow}, "process_user_orders"},
	{taskertest.Shape{Name: "tree", Build: taskertest.TreeWorkflow}, "setup_left"},
	{taskertest.Shape{Name: "mixed_dag", Build: taskertest.MixedDAGWorkflow}, "setup_environment"},
	{taskertest.Shape{Name: "order_fulfillment", Build: taskertest.OrderFulfillmentWorkflow}, "reserve_inventory"},
}

func TestWorkflowShapes(t *testing.T) {
	t.Parallel()
	require.Len(t, shapeCases, len(taskertest.Shapes()), "every shape has a case")
	for _, c := range shapeCases {
		for _, sc := range []shapeScenario{happyPath, retryThenSuccess, retryExhaustion, permanentFailure} {
			t.Run(c.shape.Name+"/"+sc.String(), func(t *testing.T) {
				t.Parallel()
				runShapeScenario(t, c.shape, c.middle, sc)
			})
		}
	}
}

func runShapeScenario(t *testing.T, shape taskertest.Shape, middle string, sc shapeScenario) {
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	spec := shape.Build(ns)
	init := taskertest.Start(t, e, spec, map[string]any{"shape": shape.Name})
	require.Equal(t, len(spec.Steps), init.StepCount)

	// Each run asks for its other ancestors' results (the claim carries the
	// direct parents'), by claim token.
	ancestors := taskertest.Ancestors(spec)
	parents := taskertest.Parents(spec)
	fetched := map[string]map[string]json.RawMessage{}
	handler := func(s tt.ClaimedStep) (any, *taskertest.Failure) {
		var others []string
		for _, a := range ancestors[s.StepName] {
			if !slices.Contains(parents[s.StepName], a) {
				others = append(others, a)
			}
		}
		if len(others) > 0 {
			got, err := e.AncestorResults(context.Background(), &tt.AncestorResultsParams{StepID: s.WorkflowStepID,
				ClaimToken: s.ClaimToken, Names: others})
			require.NoError(t, err, "ancestor results of %s", s.StepName)
			fetched[s.ClaimToken] = got
		}
		if s.StepName == middle {
			switch {
			case sc == retryThenSuccess && s.Attempts == 1:
				return nil, &taskertest.Failure{Class: "FlakyError", Message: "first attempt fails"}
			case sc == retryExhaustion:
				return nil, &taskertest.Failure{Class: "AlwaysFails", Message: "fails every time"}
			case sc == permanentFailure:
				return nil, &taskertest.Failure{Class: "PermanentError", Message: "cannot ever work", Permanent: true}
			}
		}
		return map[string]any{"step": s.StepName, "task_id": s.TaskID, "attempt": s.Attempts,
			"echo": []any{s.StepName, 1.5, map[string]any{"nested": true}}}, nil
	}
	d := taskertest.Drive(t, e, ns, []int64{init.TaskID}, handler)
	st := d.Tasks[init.TaskID]
	steps := stepsByName(st)

	// Which steps must have run, and how often.
	descendants := map[string]bool{}
	if sc == retryExhaustion || sc == permanentFailure {
		for _, n := range taskertest.Descendants(spec, middle) {
			descendants[n] = true
		}
		require.NotEmpty(t, descendants, "the middle step must have children")
	}
	for _, name := range taskertest.StepNames(spec) {
		s := steps[name]
		runs := d.Runs[s.WorkflowStepID]
		switch {
		case name == middle && sc == retryThenSuccess:
			require.Equal(t, 2, runs, "%s runs", name)
			require.Equal(t, 2, s.Attempts, "%s attempts", name)
			require.Equal(t, tt.StepComplete, s.Status, name)
		case name == middle && sc == retryExhaustion:
			require.Equal(t, tt.DefaultRetryLimit, runs, "%s runs exactly retry_limit times", name)
			require.Equal(t, tt.DefaultRetryLimit, s.Attempts, name)
			require.Equal(t, tt.StepError, s.Status, name)
			require.NotEmpty(t, s.LastError, "%s last_error", name)
			require.False(t, s.InProcess, name)
		case name == middle && sc == permanentFailure:
			require.Equal(t, 1, runs, "%s runs once", name)
			require.Equal(t, 1, s.Attempts, name)
			require.Equal(t, tt.StepError, s.Status, name)
			var lastErr map[string]any
			require.NoError(t, json.Unmarshal(s.LastError, &lastErr))
			require.Equal(t, "PermanentError", lastErr["class"])
			require.Equal(t, true, lastErr["permanent"])
		case descendants[name]:
			require.Zero(t, runs, "descendant %s of the failed step must never run", name)
			require.Equal(t, tt.StepPending, s.Status, name)
			require.Zero(t, s.Attempts, name)
			require.False(t, s.InProcess, name)
			require.False(t, s.Processed, name)
			require.Nil(t, s.Results, name)
		default:
			require.Equal(t, 1, runs, "%s runs exactly once", name)
			require.Equal(t, tt.StepComplete, s.Status, name)
			require.Equal(t, 1, s.Attempts, name)
			require.True(t, s.Processed, name)
			require.False(t, s.InProcess, name)
			require.NotNil(t, s.ProcessedAt, name)
		}
	}

	// Task state and its history.
	taskStates := toStates(taskTransitions(t, init.TaskID))
	requireWellFormed(t, taskTransitions(t, init.TaskID))
	if sc == happyPath || sc == retryThenSuccess {
		require.Equal(t, tt.TaskComplete, st.Status)
		require.True(t, st.Complete)
		require.NotNil(t, st.CompletedAt)
		require.Equal(t, []string{"pending", "in_progress", "complete"}, taskStates)
	} else {
		require.Equal(t, tt.TaskError, st.Status)
		require.False(t, st.Complete)
		require.Equal(t, []string{"pending", "in_progress", "error"}, taskStates)
	}

	// The middle step's history.
	mid := stepTransitions(t, steps[middle].WorkflowStepID)
	requireWellFormed(t, mid)
	switch sc {
	case happyPath:
		require.Equal(t, []string{"pending", "in_progress", "complete"}, toStates(mid))
	case retryThenSuccess:
		require.Equal(t, []string{"pending", "in_progress", "waiting_for_retry", "in_progress", "complete"}, toStates(mid))
	case retryExhaustion:
		require.Equal(t, []string{"pending", "in_progress", "waiting_for_retry", "in_progress", "waiting_for_retry", "in_progress", "error"}, toStates(mid))
	case permanentFailure:
		require.Equal(t, []string{"pending", "in_progress", "error"}, toStates(mid))
	}

	// Every run got exactly its parents' results with its claim and every
	// other ancestor's on request, after they completed.
	completedIn := map[string]Run{}
	for _, r := range d.Log {
		if r.Failure == nil {
			completedIn[r.Step.StepName] = r
		}
	}
	for _, r := range d.Log {
		name := r.Step.StepName
		require.Equal(t, init.TaskID, r.Step.TaskID)
		require.Equal(t, ns, r.Step.Namespace)
		require.Equal(t, spec.Name, r.Step.TaskName)
		require.NotEmpty(t, r.Step.Handler)
		requireJSONEqual(t, []byte(`{"shape":"`+shape.Name+`"}`), r.Step.TaskContext)
		got := make([]string, 0, len(r.Step.DependencyResults))
		for k := range r.Step.DependencyResults {
			got = append(got, k)
		}
		slices.Sort(got)
		wantParents := append([]string{}, parents[name]...)
		slices.Sort(wantParents)
		require.Equal(t, wantParents, got, "dependency_results of %s", name)
		for _, a := range ancestors[name] {
			ancestorRun, ok := completedIn[a]
			require.True(t, ok, "ancestor %s of %s completed", a, name)
			seen, ok := r.Step.DependencyResults[a]
			if !slices.Contains(parents[name], a) {
				seen, ok = fetched[r.Step.ClaimToken][a]
			}
			require.True(t, ok, "%s got %s's results", name, a)
			requireJSONEqual(t, ancestorRun.Results, seen, "%s sees %s's results", name, a)
		}
		require.Len(t, fetched[r.Step.ClaimToken], len(ancestors[name])-len(parents[name]), "%s fetched its other ancestors", name)
		for _, p := range parents[name] {
			require.Less(t, completedIn[p].Batch, r.Batch, "%s (batch %d) ran before its parent %s completed", name, r.Batch, p)
		}
	}
	// Stored results are what the handler returned.
	for name, r := range completedIn {
		requireJSONEqual(t, r.Results, steps[name].Results, "stored results of %s", name)
	}
}

// Run is short for taskertest.Run.
type Run = taskertest.Run
