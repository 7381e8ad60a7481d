package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// templateRows counts what registering templates in ns wrote: the namespace,
// its templates, their step rows, and named steps whose names start with
// prefix (named steps are shared by every namespace).
func templateRows(t *testing.T, ns, prefix string) [4]int {
	t.Helper()
	return [4]int{
		countRows(t, `SELECT count(*) FROM tasker_task_namespaces WHERE name = $1`, ns),
		countRows(t, `SELECT count(*) FROM tasker_named_tasks nt JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id WHERE n.name = $1`, ns),
		countRows(t, `SELECT count(*) FROM tasker_named_tasks_named_steps s JOIN tasker_named_tasks nt ON nt.named_task_id = s.named_task_id
			JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id WHERE n.name = $1`, ns),
		countRows(t, `SELECT count(*) FROM tasker_named_steps WHERE starts_with(name, $1)`, prefix),
	}
}

func TestRegisterTemplateValidation(t *testing.T) {
	t.Parallel()
	type stepDef struct {
		name string
		deps []string
	}
	cases := []struct {
		name     string
		version  string
		steps    []stepDef
		field    string
		contains []string
	}{
		{"unknown_dependency", "1.0.0", []stepDef{{"a", nil}, {"b", []string{"a", "nope"}}},
			"steps[1].depends_on[1]", []string{`depends on unknown step`, `nope"`}},
		{"cycle", "1.0.0", []stepDef{{"root", nil}, {"a", []string{"root", "c"}}, {"b", []string{"a"}}, {"c", []string{"b"}}},
			"steps", []string{"cycle: ", "a -> ", "b -> ", "c -> "}},
		{"self_dependency", "1.0.0", []stepDef{{"a", nil}, {"b", []string{"b"}}},
			"steps[1].depends_on[0]", []string{"depends on itself"}},
		{"duplicate_step_name", "1.0.0", []stepDef{{"a", nil}, {"b", []string{"a"}}, {"a", nil}},
			"steps[2].name", []string{"duplicate step name", "also steps[0]"}},
		{"empty_template", "1.0.0", nil,
			"steps", []string{"template has no steps"}},
		{"malformed_version", "1.0", []stepDef{{"a", nil}},
			"version", []string{"version must be a semantic version", `"1.0"`}},
		{"malformed_version_v_prefix", "v1.0.0", []stepDef{{"a", nil}},
			"version", []string{"version must be a semantic version"}},
		{"missing_handler", "1.0.0", []stepDef{{"a", nil}, {"b", []string{"a"}}},
			"steps[1].handler", []string{"handler is required"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := taskertest.Engine(t)
			ns := taskertest.Namespace(t)
			prefix := ns + "_" // step names unique to this test
			spec := &tt.TemplateSpec{Namespace: ns, Name: "invalid", Version: c.version}
			for _, s := range c.steps {
				deps := make([]string, len(s.deps))
				for i, d := range s.deps {
					deps[i] = prefix + d
				}
				handler := "H"
				if c.name == "missing_handler" && s.name == "b" {
					handler = ""
				}
				spec.Steps = append(spec.Steps, tt.StepSpec{Name: prefix + s.name, Handler: handler, DependsOn: deps})
			}
			before := templateRows(t, ns, prefix)
			_, err := e.RegisterTemplate(ctx, spec)
			requireCode(t, err, tt.CodeValidation)
			var ve *tt.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, "register_template", ve.Op)
			var found bool
			for _, p := range ve.Problems {
				if p.Field == c.field {
					found = true
					for _, s := range c.contains {
						require.Contains(t, p.Problem, s, "problem %q", p.Problem)
					}
				}
			}
			require.True(t, found, "a problem at %s in %v", c.field, ve.Problems)
			for _, s := range c.contains {
				require.Contains(t, err.Error(), s)
			}
			require.Equal(t, before, templateRows(t, ns, prefix), "nothing written")
			require.Equal(t, [4]int{}, before)
		})
	}
}

// The cycle names its path in the order the steps would run.
func TestRegisterTemplateCyclePath(t *testing.T) {
	t.Parallel()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	_, err := e.RegisterTemplate(context.Background(), &tt.TemplateSpec{Namespace: ns, Name: "cyclic", Version: "1.0.0", Steps: []tt.StepSpec{
		{Name: "a", Handler: "A", DependsOn: []string{"c"}},
		{Name: "b", Handler: "B", DependsOn: []string{"a"}},
		{Name: "c", Handler: "C", DependsOn: []string{"b"}},
		{Name: "d", Handler: "D"},
	}})
	var ve *tt.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Problems, 1, "%v", ve.Problems)
	require.Equal(t, tt.FieldError{Field: "steps", Problem: "cycle: a -> b -> c -> a"}, ve.Problems[0])
}

func TestRegisterTemplateIdempotence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)

	first, err := e.RegisterTemplate(ctx, taskertest.DiamondWorkflow(ns))
	require.NoError(t, err)
	require.True(t, first.Created)
	require.Equal(t, 7, first.StepCount)
	rows := templateRows(t, ns, "\x01") // named steps are shared; count only this namespace's rows

	again, err := e.RegisterTemplate(ctx, taskertest.DiamondWorkflow(ns))
	require.NoError(t, err)
	require.False(t, again.Created, "same version, same shape: a no-op")
	require.Equal(t, first.NamedTaskID, again.NamedTaskID)
	require.Equal(t, rows, templateRows(t, ns, "\x01"))

	// A fresh engine (no cache) agrees.
	again, err = taskertest.Engine(t).RegisterTemplate(ctx, taskertest.DiamondWorkflow(ns))
	require.NoError(t, err)
	require.False(t, again.Created)

	changed := taskertest.DiamondWorkflow(ns)
	changed.Steps[len(changed.Steps)-1].DependsOn = []string{"branch_a_validate"}
	_, err = e.RegisterTemplate(ctx, changed)
	requireCode(t, err, tt.CodeConflict)
	var tce *tt.TemplateConflictError
	require.ErrorAs(t, err, &tce)
	require.Equal(t, ns, tce.Namespace)
	require.Equal(t, "diamond_workflow", tce.Name)
	require.Equal(t, "1.0.0", tce.Version)
	require.Equal(t, rows, templateRows(t, ns, "\x01"))

	// The new shape under a new version is fine, and becomes the newest.
	changed.Version = "1.1.0"
	res, err := e.RegisterTemplate(ctx, changed)
	require.NoError(t, err)
	require.True(t, res.Created)
	init, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: "diamond_workflow", Context: json.RawMessage(`{}`)})
	require.NoError(t, err)
	st, err := e.TaskStatus(ctx, init.TaskID)
	require.NoError(t, err)
	require.Equal(t, "1.1.0", st.Version)
}

func TestInitializeTaskValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	tasksIn := func() int {
		return countRows(t, `SELECT count(*) FROM tasker_tasks t JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
			JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id WHERE n.name = $1`, ns)
	}

	t.Run("unknown_template", func(t *testing.T) {
		_, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: "no_such_template", Context: json.RawMessage(`{}`)})
		requireCode(t, err, tt.CodeNotFound)
		var nf *tt.NotFoundError
		require.ErrorAs(t, err, &nf)
		require.Equal(t, "template", nf.Kind)
		require.Contains(t, nf.Key, "no_such_template")

		_, err = e.RegisterTemplate(ctx, taskertest.LinearWorkflow(ns))
		require.NoError(t, err)
		_, err = e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: "linear_workflow", Version: "9.9.9", Context: json.RawMessage(`{}`)})
		requireCode(t, err, tt.CodeNotFound)
		require.Contains(t, err.Error(), "9.9.9")
	})

	t.Run("context_schema", func(t *testing.T) {
		spec := taskertest.OrderFulfillmentWorkflow(ns)
		spec.ContextSchema = json.RawMessage(`{
			"type": "object",
			"required": ["customer_id", "items"],
			"properties": {
				"customer_id": {"type": "string"},
				"items": {"type": "array", "minItems": 1, "items": {
					"type": "object", "required": ["sku", "qty"],
					"properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}}
			}
		}`)
		_, err := e.RegisterTemplate(ctx, spec)
		require.NoError(t, err)
		before := tasksIn()
		_, err = e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name,
			Context: json.RawMessage(`{"items": [{"sku": 7, "qty": 0}, {"qty": 2}]}`)})
		requireCode(t, err, tt.CodeValidation)
		var ve *tt.ValidationError
		require.ErrorAs(t, err, &ve)
		fields := map[string]string{}
		for _, p := range ve.Problems {
			fields[p.Field] = p.Problem
		}
		for _, f := range []string{"context.customer_id", "context.items[0].sku", "context.items[0].qty", "context.items[1].sku"} {
			require.Contains(t, fields, f, "problems: %v", ve.Problems)
			require.Contains(t, err.Error(), f)
		}
		require.Equal(t, before, tasksIn(), "nothing written")

		_, err = e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name, Context: json.RawMessage(`[1,2]`)})
		requireCode(t, err, tt.CodeValidation)
		require.Equal(t, before, tasksIn(), "nothing written")

		ok, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name,
			Context: json.RawMessage(`{"customer_id": "c-1", "items": [{"sku": "A", "qty": 1}]}`)})
		require.NoError(t, err)
		require.Equal(t, 4, ok.StepCount)
		require.Equal(t, before+1, tasksIn())
	})

	t.Run("caller_provided_without_key", func(t *testing.T) {
		spec := taskertest.SimpleDiamondWorkflow(ns)
		spec.IdentityStrategy = tt.IdentityCallerProvided
		_, err := e.RegisterTemplate(ctx, spec)
		require.NoError(t, err)
		before := tasksIn()
		_, err = e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name, Context: json.RawMessage(`{}`)})
		requireCode(t, err, tt.CodeValidation)
		var ve *tt.ValidationError
		require.ErrorAs(t, err, &ve)
		require.Equal(t, "idempotency_key", ve.Problems[0].Field)
		require.Equal(t, before, tasksIn())

		_, err = e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name, Context: json.RawMessage(`{}`),
			IdentityStrategy: "sometimes"})
		requireCode(t, err, tt.CodeValidation)
		require.Contains(t, err.Error(), "identity_strategy")

		_, err = e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name, Context: json.RawMessage(`{}`), IdempotencyKey: "k-1"})
		require.NoError(t, err)
		_, err = e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name, Context: json.RawMessage(`{"other":1}`), IdempotencyKey: "k-1"})
		requireCode(t, err, tt.CodeDuplicate, "the key, not the context, is the identity")
		require.Equal(t, before+1, tasksIn())
	})

	t.Run("missing_fields", func(t *testing.T) {
		_, err := e.InitializeTask(ctx, &tt.TaskRequest{})
		requireCode(t, err, tt.CodeValidation)
		for _, f := range []string{"namespace", "name", "context"} {
			require.Contains(t, err.Error(), f)
		}
		_, err = e.InitializeTask(ctx, nil)
		requireCode(t, err, tt.CodeValidation)
	})
}

// The seed's bug: a wrong in_process flag made every step ineligible. New
// steps are pending, not in process, not processed, with no attempts, and
// exactly the roots are ready.
func TestNewStepsAreReady(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	for i, shape := range taskertest.Shapes() {
		ns := fmt.Sprintf("%s_%d", taskertest.Namespace(t), i)
		spec := shape.Build(ns)
		init := taskertest.Start(t, e, spec, nil)
		require.Len(t, init.WorkflowSteps, len(spec.Steps))
		require.Equal(t, spec.Name, init.HandlerConfigName)
		require.Len(t, init.StepMapping, len(spec.Steps))
		parents := taskertest.Parents(spec)
		for _, s := range init.WorkflowSteps {
			require.Equal(t, tt.StepPending, s.Status, s.Name)
			require.False(t, s.InProcess, s.Name)
			require.False(t, s.Processed, s.Name)
			require.Zero(t, s.Attempts, s.Name)
			require.Nil(t, s.ProcessedAt, s.Name)
			require.Nil(t, s.LastAttemptedAt, s.Name)
			require.Nil(t, s.Results, s.Name)
			require.Equal(t, init.StepMapping[s.Name], s.WorkflowStepID)
			require.True(t, s.Retryable, s.Name)
			require.Equal(t, tt.DefaultRetryLimit, s.RetryLimit, s.Name)
			require.ElementsMatch(t, parents[s.Name], s.DependsOn, s.Name)
		}
		readiness, err := e.StepReadiness(ctx, init.TaskID, nil)
		require.NoError(t, err)
		require.Len(t, readiness, len(spec.Steps))
		for _, r := range readiness {
			root := len(parents[r.Name]) == 0
			require.Equal(t, tt.StepPending, r.CurrentState, r.Name)
			require.Equal(t, root, r.ReadyForExecution, "%s/%s ready_for_execution", shape.Name, r.Name)
			require.Equal(t, root, r.DependenciesSatisfied, "%s/%s dependencies_satisfied", shape.Name, r.Name)
			require.True(t, r.RetryEligible, r.Name)
			require.Equal(t, len(parents[r.Name]), r.TotalParents, r.Name)
			require.Zero(t, r.CompletedParents, r.Name)
			require.Zero(t, r.Attempts, r.Name)
			require.Nil(t, r.NextRetryAt, r.Name)
		}
		// The claim path agrees with the function: exactly the roots are claimable.
		claim, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 100, WorkerID: "w"})
		require.NoError(t, err)
		var claimed, roots []string
		for _, s := range claim.Steps {
			claimed = append(claimed, s.StepName)
			_, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken})
			require.NoError(t, err)
		}
		for _, s := range spec.Steps {
			if len(s.DependsOn) == 0 {
				roots = append(roots, s.Name)
			}
		}
		require.ElementsMatch(t, roots, claimed, shape.Name)
	}
}
