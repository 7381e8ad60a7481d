package taskertest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-json"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// The workflow shapes of the original Tasker's test suites
// (spec/mocks/configurable_failure_handlers.rb and the tasker-core
// integration suites), as templates in a given namespace. Every builder
// returns a fresh spec at version 1.0.0; handlers are named after the steps.

// Shape is a named template builder.
type Shape struct {
	Name  string
	Build func(namespace string) *tt.TemplateSpec
}

// Shapes returns the six canonical shapes: linear, diamond, parallel_merge,
// tree, mixed_dag and order_fulfillment.
func Shapes() []Shape {
	return []Shape{
		{"linear", LinearWorkflow},
		{"diamond", DiamondWorkflow},
		{"parallel_merge", ParallelMergeWorkflow},
		{"tree", TreeWorkflow},
		{"mixed_dag", MixedDAGWorkflow},
		{"order_fulfillment", OrderFulfillmentWorkflow},
	}
}

// step is shorthand for a StepSpec; spec names its handler.
func step(name string, deps ...string) tt.StepSpec {
	return tt.StepSpec{Name: name, DependsOn: deps}
}

func camel(s string) string {
	parts := strings.Split(s, "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}

func spec(ns, name, prefix string, steps ...tt.StepSpec) *tt.TemplateSpec {
	for i := range steps {
		steps[i].Handler = prefix + "::" + camel(steps[i].Name) + "Handler"
	}
	return &tt.TemplateSpec{Namespace: ns, Name: name, Version: "1.0.0", Steps: steps}
}

// LinearWorkflow is LinearWorkflowTask: six steps in a chain.
//
//	initialize_data → validate_input → process_data → transform_results → validate_output → finalize_workflow
func LinearWorkflow(ns string) *tt.TemplateSpec {
	return spec(ns, "linear_workflow", "LinearWorkflow",
		step("initialize_data"),
		step("validate_input", "initialize_data"),
		step("process_data", "validate_input"),
		step("transform_results", "process_data"),
		step("validate_output", "transform_results"),
		step("finalize_workflow", "validate_output"),
	)
}

// DiamondWorkflow is DiamondWorkflowTask: two branches of process and
// validate between a start and a merge.
//
//	start → branch_a_process → branch_a_validate ┐
//	      → branch_b_process → branch_b_validate ┴→ merge_branches → end
func DiamondWorkflow(ns string) *tt.TemplateSpec {
	return spec(ns, "diamond_workflow", "DiamondWorkflow",
		step("start"),
		step("branch_a_process", "start"),
		step("branch_b_process", "start"),
		step("branch_a_validate", "branch_a_process"),
		step("branch_b_validate", "branch_b_process"),
		step("merge_branches", "branch_a_validate", "branch_b_validate"),
		step("end", "merge_branches"),
	)
}

// SimpleDiamondWorkflow is the canonical four-step diamond.
//
//	diamond_start → diamond_branch_b, diamond_branch_c → diamond_end
func SimpleDiamondWorkflow(ns string) *tt.TemplateSpec {
	return spec(ns, "simple_diamond", "SimpleDiamond",
		step("diamond_start"),
		step("diamond_branch_b", "diamond_start"),
		step("diamond_branch_c", "diamond_start"),
		step("diamond_end", "diamond_branch_b", "diamond_branch_c"),
	)
}

// ParallelMergeWorkflow is ParallelMergeWorkflowTask: four independent
// fetches, two processes of two fetches each, one merge.
//
//	fetch_user_data, fetch_order_data      → process_user_orders      ┐
//	fetch_product_data, fetch_inventory_data → process_product_inventory ┴→ merge_all_data
func ParallelMergeWorkflow(ns string) *tt.TemplateSpec {
	return spec(ns, "parallel_merge_workflow", "ParallelMergeWorkflow",
		step("fetch_user_data"),
		step("fetch_order_data"),
		step("fetch_product_data"),
		step("fetch_inventory_data"),
		step("process_user_orders", "fetch_user_data", "fetch_order_data"),
		step("process_product_inventory", "fetch_product_data", "fetch_inventory_data"),
		step("merge_all_data", "process_user_orders", "process_product_inventory"),
	)
}

// TreeWorkflow is TreeWorkflowTask: a root, two setups, four leaves and an
// aggregate of the leaves.
//
//	root → setup_left  → leaf_left_1, leaf_left_2   ┐
//	     → setup_right → leaf_right_1, leaf_right_2 ┴→ aggregate_results
func TreeWorkflow(ns string) *tt.TemplateSpec {
	return spec(ns, "tree_workflow", "TreeWorkflow",
		step("root"),
		step("setup_left", "root"),
		step("setup_right", "root"),
		step("leaf_left_1", "setup_left"),
		step("leaf_left_2", "setup_left"),
		step("leaf_right_1", "setup_right"),
		step("leaf_right_2", "setup_right"),
		step("aggregate_results", "leaf_left_1", "leaf_left_2", "leaf_right_1", "leaf_right_2"),
	)
}

// MixedDAGWorkflow is MixedWorkflowTask: two roots, a join, a fan-out and a
// step (cleanup_temp_files) that skips a level.
//
//	init_auth   → validate_permissions ┐
//	init_config → setup_environment    ┴→ begin_processing → process_critical, process_optional ┐
//	              setup_environment → cleanup_temp_files                                          ┴→ finalize_and_report
func MixedDAGWorkflow(ns string) *tt.TemplateSpec {
	return spec(ns, "mixed_workflow", "MixedWorkflow",
		step("init_auth"),
		step("init_config"),
		step("validate_permissions", "init_auth"),
		step("setup_environment", "init_config"),
		step("begin_processing", "validate_permissions", "setup_environment"),
		step("process_critical", "begin_processing"),
		step("process_optional", "begin_processing"),
		step("cleanup_temp_files", "setup_environment"),
		step("finalize_and_report", "process_critical", "process_optional", "cleanup_temp_files"),
	)
}

// OrderFulfillmentWorkflow is the e-commerce order: payment and inventory
// both wait for validation, shipping waits for both.
//
//	validate_order → reserve_inventory, process_payment → ship_order
func OrderFulfillmentWorkflow(ns string) *tt.TemplateSpec {
	return spec(ns, "order_fulfillment", "OrderFulfillment",
		step("validate_order"),
		step("reserve_inventory", "validate_order"),
		step("process_payment", "validate_order"),
		step("ship_order", "reserve_inventory", "process_payment"),
	)
}

// Parents returns each step's direct parents.
func Parents(s *tt.TemplateSpec) map[string][]string {
	out := make(map[string][]string, len(s.Steps))
	for _, st := range s.Steps {
		out[st.Name] = slices.Clone(st.DependsOn)
	}
	return out
}

// Ancestors returns, for each step, every step it transitively depends on,
// sorted.
func Ancestors(s *tt.TemplateSpec) map[string][]string {
	parents := Parents(s)
	out := make(map[string][]string, len(s.Steps))
	for _, st := range s.Steps {
		seen := map[string]bool{}
		stack := slices.Clone(parents[st.Name])
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[n] {
				continue
			}
			seen[n] = true
			stack = append(stack, parents[n]...)
		}
		list := make([]string, 0, len(seen))
		for n := range seen {
			list = append(list, n)
		}
		slices.Sort(list)
		out[st.Name] = list
	}
	return out
}

// Descendants returns every step that transitively depends on name, sorted.
func Descendants(s *tt.TemplateSpec, name string) []string {
	var out []string
	for n, anc := range Ancestors(s) {
		if slices.Contains(anc, name) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// StepNames returns the template's step names in declaration order.
func StepNames(s *tt.TemplateSpec) []string {
	out := make([]string, len(s.Steps))
	for i, st := range s.Steps {
		out[i] = st.Name
	}
	return out
}

// Start registers spec (a no-op when already registered with the same
// shape) and initializes one task of it with the given context (any value
// encoding to a JSON object; nil means {}), with the always_unique identity
// strategy so that repeated calls make new tasks.
func Start(tb testing.TB, e *engine.Engine, spec *tt.TemplateSpec, taskContext any) *tt.InitializeResult {
	tb.Helper()
	ctx := context.Background()
	if _, err := e.RegisterTemplate(ctx, spec); err != nil {
		tb.Fatalf("taskertest: register %s/%s: %v", spec.Namespace, spec.Name, err)
	}
	raw := json.RawMessage(`{}`)
	if taskContext != nil {
		var err error
		if raw, err = toJSON(taskContext); err != nil {
			tb.Fatalf("taskertest: encode context: %v", err)
		}
	}
	res, err := e.InitializeTask(ctx, &tt.TaskRequest{
		Namespace: spec.Namespace, Name: spec.Name, Version: spec.Version, Context: raw,
		IdentityStrategy: tt.IdentityAlwaysUnique,
	})
	if err != nil {
		tb.Fatalf("taskertest: initialize %s/%s: %v", spec.Namespace, spec.Name, err)
	}
	return res
}
