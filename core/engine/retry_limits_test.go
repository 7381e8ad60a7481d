package engine_test

import (
	"context"
	"testing"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// retryable and retry_limit decide how many times an always-failing step
// runs; the first attempt always runs.
func TestRetryLimits(t *testing.T) {
	t.Parallel()
	no := false
	limit := func(n int) *int { return &n }
	cases := []struct {
		name      string
		retryable *bool
		limit     *int
		runs      int
	}{
		{"default", nil, nil, tt.DefaultRetryLimit},
		{"limit_5", nil, limit(5), 5},
		{"limit_1", nil, limit(1), 1},
		{"limit_0_still_runs_once", nil, limit(0), 1},
		{"not_retryable", &no, limit(5), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := taskertest.Engine(t)
			ns := taskertest.Namespace(t)
			spec := &tt.TemplateSpec{Namespace: ns, Name: "limits", Version: "1.0.0", Steps: []tt.StepSpec{
				{Name: "flaky", Handler: "Flaky", Retryable: c.retryable, RetryLimit: c.limit},
				{Name: "independent", Handler: "Independent"},
			}}
			init := taskertest.Start(t, e, spec, nil)
			d := taskertest.Drive(t, e, ns, []int64{init.TaskID}, func(s tt.ClaimedStep) (any, *taskertest.Failure) {
				if s.StepName == "flaky" {
					return nil, &taskertest.Failure{Message: "again"}
				}
				return nil, nil
			})
			require.Equal(t, c.runs, d.RunsOf(t, init.TaskID, "flaky"))
			flaky := d.Step(t, init.TaskID, "flaky")
			require.Equal(t, tt.StepError, flaky.Status)
			require.Equal(t, c.runs, flaky.Attempts)
			require.Equal(t, tt.StepComplete, d.Step(t, init.TaskID, "independent").Status)
			require.Equal(t, tt.TaskError, d.Tasks[init.TaskID].Status)
			wantLimit := tt.DefaultRetryLimit
			if c.limit != nil {
				wantLimit = *c.limit
			}
			require.Equal(t, wantLimit, flaky.RetryLimit)
			for _, r := range d.RunsFor(flaky.WorkflowStepID) {
				require.Equal(t, wantLimit, r.Step.RetryLimit, "the claimed payload carries the limit")
				require.Equal(t, c.retryable == nil || *c.retryable, r.Step.Retryable)
				last := r.Step.Attempts == c.runs
				want := tt.StepWaitingForRetry
				if last {
					want = tt.StepError
				}
				require.Equal(t, want, r.Outcome.Status, "attempt %d", r.Step.Attempts)
			}
		})
	}
}

// The strict identity hashes the context canonically: key order and
// whitespace do not make a new task; a different value does.
func TestStrictIdentityCanonical(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	spec := taskertest.LinearWorkflow(ns)
	_, err := e.RegisterTemplate(ctx, spec)
	require.NoError(t, err)
	req := func(c string) error {
		_, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name, Context: json.RawMessage(c)})
		return err
	}
	require.NoError(t, req(`{"a":1,"b":{"x":[1,2],"y":"z"}}`))
	requireCode(t, req(`{ "b" : { "y":"z", "x":[1, 2] }, "a" : 1 }`), tt.CodeDuplicate)
	require.NoError(t, req(`{"a":2,"b":{"x":[1,2],"y":"z"}}`))
	require.NoError(t, req(`{"a":1,"b":{"x":[2,1],"y":"z"}}`), "array order matters")

	// A different version of the same template is a different task.
	v2 := taskertest.LinearWorkflow(ns)
	v2.Version = "2.0.0"
	_, err = e.RegisterTemplate(ctx, v2)
	require.NoError(t, err)
	_, err = e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name, Version: "2.0.0", Context: json.RawMessage(`{"a":1,"b":{"x":[1,2],"y":"z"}}`)})
	require.NoError(t, err)
}
