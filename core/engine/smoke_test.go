package engine_test

import (
	"context"
	"testing"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

func TestSmokeDiamond(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	_, err := e.RegisterTemplate(ctx, &tt.TemplateSpec{Namespace: ns, Name: "diamond", Version: "1.0.0", Steps: []tt.StepSpec{
		{Name: "a", Handler: "A"},
		{Name: "b", Handler: "B", DependsOn: []string{"a"}},
		{Name: "c", Handler: "C", DependsOn: []string{"a"}},
		{Name: "d", Handler: "D", DependsOn: []string{"b", "c"}},
	}})
	require.NoError(t, err)
	res, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: "diamond", Context: json.RawMessage(`{"n":1}`)})
	require.NoError(t, err)
	require.Equal(t, 4, res.StepCount)
	for range 10 {
		claim, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 10, WorkerID: "w1"})
		require.NoError(t, err)
		if len(claim.Steps) == 0 {
			break
		}
		for _, s := range claim.Steps {
			_, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: json.RawMessage(`{"step":"` + s.StepName + `"}`)})
			require.NoError(t, err)
		}
	}
	st, err := e.TaskStatus(ctx, res.TaskID)
	require.NoError(t, err)
	require.Equal(t, tt.TaskComplete, st.Status)
	for _, s := range st.Steps {
		require.Equal(t, tt.StepComplete, s.Status)
	}
}
