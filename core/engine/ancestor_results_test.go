package engine_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/goccy/go-json"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// A claim carries its direct parents' results; any other ancestor's come
// from AncestorResults, while the claim holds.
func TestAncestorResults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, taskertest.DiamondWorkflow(ns), nil)
	id := init.StepMapping

	run := func(name string) {
		s, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id[name], WorkerID: "tester"})
		require.NoError(t, err, name)
		_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken,
			Results: json.RawMessage(`{"from":"` + name + `"}`)})
		require.NoError(t, err, name)
	}
	for _, name := range []string{"start", "branch_a_process", "branch_a_validate", "branch_b_process", "branch_b_validate"} {
		run(name)
	}
	merge, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: id["merge_branches"], WorkerID: "tester"})
	require.NoError(t, err)
	require.Len(t, merge.DependencyResults, 2, "direct parents only")
	requireJSONEqual(t, []byte(`{"from":"branch_a_validate"}`), merge.DependencyResults["branch_a_validate"])
	requireJSONEqual(t, []byte(`{"from":"branch_b_validate"}`), merge.DependencyResults["branch_b_validate"])

	ask := func(s *tt.ClaimedStep, names ...string) (map[string]json.RawMessage, error) {
		return e.AncestorResults(ctx, &tt.AncestorResultsParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Names: names})
	}
	// Any depth, parents included; a name asked twice comes once.
	got, err := ask(merge, "start", "branch_a_process", "branch_b_validate", "start")
	require.NoError(t, err)
	require.Len(t, got, 3)
	for _, n := range []string{"start", "branch_a_process", "branch_b_validate"} {
		requireJSONEqual(t, []byte(`{"from":"`+n+`"}`), got[n], n)
	}

	// Names that are no ancestors: a sibling, a descendant, the step itself,
	// a stranger. Each is named once, with the step asking.
	_, err = ask(merge, "start", "end", "merge_branches", "nope", "nope")
	requireCode(t, err, tt.CodeValidation)
	var v *tt.ValidationError
	require.ErrorAs(t, err, &v)
	require.Equal(t, []tt.FieldError{
		{Field: "names[1]", Problem: `step "end" is not an ancestor of "merge_branches"`},
		{Field: "names[2]", Problem: `step "merge_branches" is not an ancestor of "merge_branches"`},
		{Field: "names[3]", Problem: `step "nope" is not an ancestor of "merge_branches"`},
	}, v.Problems)

	// Input rules.
	for _, p := range []*tt.AncestorResultsParams{
		nil,
		{StepID: merge.WorkflowStepID, ClaimToken: merge.ClaimToken},
		{StepID: merge.WorkflowStepID, ClaimToken: merge.ClaimToken, Names: []string{""}},
		{StepID: merge.WorkflowStepID, Names: []string{"start"}},
		{StepID: merge.WorkflowStepID, ClaimToken: "not-a-uuid", Names: []string{"start"}},
		{StepID: 0, ClaimToken: merge.ClaimToken, Names: []string{"start"}},
	} {
		_, err := e.AncestorResults(ctx, p)
		requireCode(t, err, tt.CodeValidation)
	}
	_, err = e.AncestorResults(ctx, &tt.AncestorResultsParams{StepID: 1 << 60, ClaimToken: merge.ClaimToken, Names: []string{"start"}})
	requireCode(t, err, tt.CodeNotFound)

	// Another token, then the step reported: stale.
	_, err = e.AncestorResults(ctx, &tt.AncestorResultsParams{StepID: merge.WorkflowStepID, ClaimToken: uuid.NewString(), Names: []string{"start"}})
	requireCode(t, err, tt.CodeStaleClaim)
	_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: merge.WorkflowStepID, ClaimToken: merge.ClaimToken, Results: json.RawMessage(`{}`)})
	require.NoError(t, err)
	_, err = ask(merge, "start")
	requireCode(t, err, tt.CodeStaleClaim)
	var stale *tt.StaleClaimError
	require.ErrorAs(t, err, &stale)
	require.Equal(t, tt.StepComplete, stale.Status)

	// A root has no ancestors at all.
	init2 := taskertest.Start(t, e, taskertest.DiamondWorkflow(ns), map[string]any{"second": true})
	root, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: init2.StepMapping["start"], WorkerID: "tester"})
	require.NoError(t, err)
	_, err = ask(root, "start")
	requireCode(t, err, tt.CodeValidation)
	require.ErrorContains(t, err, `step "start" is not an ancestor of "start"`)
}

// In a chain, a step far down reaches the root and any step between; the
// walk stops at the nearest generation that holds every name.
func TestAncestorResultsChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, taskertest.LinearWorkflow(ns), nil)
	names := taskertest.StepNames(taskertest.LinearWorkflow(ns))
	for i, name := range names {
		s, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: init.StepMapping[name], WorkerID: "tester"})
		require.NoError(t, err, name)
		if i > 0 {
			require.Len(t, s.DependencyResults, 1, "%s gets its parent only", name)
			require.Contains(t, s.DependencyResults, names[i-1], name)
			got, err := e.AncestorResults(ctx, &tt.AncestorResultsParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Names: names[:i]})
			require.NoError(t, err, name)
			require.Len(t, got, i, name)
			for j, a := range names[:i] {
				requireJSONEqual(t, []byte(`{"i":`+strconv.Itoa(j)+`}`), got[a], "%s sees %s", name, a)
			}
		}
		_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken,
			Results: json.RawMessage(`{"i":` + strconv.Itoa(i) + `}`)})
		require.NoError(t, err, name)
	}
}
