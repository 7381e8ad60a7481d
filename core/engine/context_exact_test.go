package engine_test

import (
	"context"
	"testing"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// A task's context comes back byte for byte, in its status and in the claim
// its steps are handed with: no number becomes another, no key moves.
func TestContextRoundTripsExactly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	spec := taskertest.DiamondWorkflow(ns)
	_, err := e.RegisterTemplate(ctx, spec)
	require.NoError(t, err)
	raw := `{"z":1e300,"max":1.7976931348623157e308,"big":1e22,"neg_zero":-0.0,"a":[1.50,{"y":2,"x":1}],"u":"\u00e9\ud83d\ude00"}`
	init, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name, Version: spec.Version,
		Context: json.RawMessage(raw)})
	require.NoError(t, err)

	st, err := e.TaskStatus(ctx, init.TaskID)
	require.NoError(t, err)
	require.Equal(t, raw, string(st.Context))
	claimed, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: init.StepMapping["start"], WorkerID: "exact"})
	require.NoError(t, err)
	require.Equal(t, raw, string(claimed.TaskContext))
}

// Key order and number spelling do not make a different task: the identity
// is hashed from the canonical form.
func TestContextIdentityIgnoresSpelling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	spec := taskertest.DiamondWorkflow(taskertest.Namespace(t))
	_, err := e.RegisterTemplate(ctx, spec)
	require.NoError(t, err)
	req := func(c string) *tt.TaskRequest {
		return &tt.TaskRequest{Namespace: spec.Namespace, Name: spec.Name, Version: spec.Version, Context: json.RawMessage(c)}
	}
	_, err = e.InitializeTask(ctx, req(`{"a":1,"b":[true,null]}`))
	require.NoError(t, err)
	_, err = e.InitializeTask(ctx, req(`{ "b": [true, null], "a": 1 }`))
	require.Equal(t, tt.CodeDuplicate, tt.CodeOf(err), "%v", err)
}

// An object naming a key twice ({"a" => 1, :a => 2} from Ruby) is refused,
// naming where; nothing is written.
func TestContextWithADuplicateKeyIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	spec := taskertest.DiamondWorkflow(taskertest.Namespace(t))
	_, err := e.RegisterTemplate(ctx, spec)
	require.NoError(t, err)
	for c, field := range map[string]string{
		`{"a":1,"a":2}`:                "context",
		`{"user":{"id":1,"id":1}}`:     "context.user",
		`{"items":[{},{"k":1,"k":2}]}`: "context.items[1]",
		`{"a":1,"\u0061":2}`:           "context",
	} {
		_, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: spec.Namespace, Name: spec.Name, Version: spec.Version,
			Context: json.RawMessage(c)})
		var v *tt.ValidationError
		require.ErrorAs(t, err, &v, c)
		require.Equal(t, field, v.Problems[0].Field, c)
		require.Contains(t, v.Problems[0].Problem, "more than once", c)
	}
	var n int
	require.NoError(t, taskertest.Pool(t).QueryRow(ctx, `SELECT count(*) FROM tasker_tasks t
		JOIN tasker_named_tasks nt USING (named_task_id) JOIN tasker_task_namespaces ns USING (task_namespace_id)
		WHERE ns.name = $1`, spec.Namespace).Scan(&n))
	require.Zero(t, n)
}
