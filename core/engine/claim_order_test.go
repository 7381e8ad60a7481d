package engine_test

import (
	"context"
	"testing"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// A claim takes the highest-priority tasks' steps first, then the longest
// ready; a claim without namespaces takes from every namespace. It runs on a
// database of its own, so a claim of every namespace sees only this test's
// steps.
func TestClaimOrderAndNamespaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := taskertest.FreshDatabase(t)
	_, err := store.Migrate(ctx, pool)
	require.NoError(t, err)
	e, err := engine.New(pool, engine.Config{})
	require.NoError(t, err)
	nsA, nsB := taskertest.Namespace(t), taskertest.Namespace(t)
	single := func(ns string) *tt.TemplateSpec {
		return &tt.TemplateSpec{Namespace: ns, Name: "single", Version: "1.0.0", Steps: []tt.StepSpec{{Name: "only", Handler: "Only"}}}
	}
	for _, ns := range []string{nsA, nsB} {
		_, err = e.RegisterTemplate(ctx, single(ns))
		require.NoError(t, err)
	}
	start := func(ns string, priority int, ctxJSON string) int64 {
		res, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: "single", Priority: priority,
			Context: json.RawMessage(ctxJSON), IdentityStrategy: tt.IdentityAlwaysUnique})
		require.NoError(t, err)
		return res.TaskID
	}
	low := start(nsA, 0, `{"n":"low"}`)
	older := start(nsA, 5, `{"n":"older"}`)
	newer := start(nsA, 5, `{"n":"newer"}`)
	urgent := start(nsA, 10, `{"n":"urgent"}`)
	other := start(nsB, 100, `{"n":"other namespace"}`)

	var order []int64
	for range 4 {
		c, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{nsA}, Limit: 1, WorkerID: "w"})
		require.NoError(t, err)
		require.Len(t, c.Steps, 1)
		order = append(order, c.Steps[0].TaskID)
	}
	require.Equal(t, []int64{urgent, older, newer, low}, order, "priority first, then the longest ready; nsB never")

	c, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{nsA}, Limit: 10, WorkerID: "w"})
	require.NoError(t, err)
	require.Empty(t, c.Steps)
	c, err = e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{"no_such_namespace"}, Limit: 10, WorkerID: "w"})
	require.NoError(t, err)
	require.Empty(t, c.Steps)

	// Without namespaces the claim takes from every namespace.
	c, err = e.ClaimSteps(ctx, &tt.ClaimParams{Limit: 50, WorkerID: "any"})
	require.NoError(t, err)
	require.Len(t, c.Steps, 1)
	require.Equal(t, other, c.Steps[0].TaskID)
	require.Equal(t, nsB, c.Steps[0].Namespace)
}
