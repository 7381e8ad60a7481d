package engine

import (
	"context"
	"fmt"

	"github.com/goccy/go-json"

	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
	"github.com/tasker-systems/tasker-core-go/core/template"
)

// AncestorResults returns, by name, the results of the named ancestors of a
// claimed step, at any depth. A claim carries only the direct parents'
// results (so a claim at the end of a long chain costs what one at its start
// does); a handler asks here for an earlier step's.
//
// It reads and never writes. It is allowed while the claim token holds the
// step: another token, or a step no longer in progress, is a
// StaleClaimError, and the token is required (read-only tools read any
// step's results from TaskStatus instead). A name that is not an ancestor of
// the step is a ValidationError naming it and the step; a step that does not
// exist is a NotFoundError.
func (e *Engine) AncestorResults(ctx context.Context, p *tt.AncestorResultsParams) (map[string]json.RawMessage, error) {
	const op = "ancestor_results"
	if p == nil {
		return nil, tt.NewValidationError(op, "", "ancestor results parameters are required")
	}
	if err := validateStepClaim(op, p.StepID, p.ClaimToken); err != nil {
		return nil, err
	}
	names, err := distinctNames(op, p.Names)
	if err != nil {
		return nil, err
	}
	state, err := store.StepClaimState(ctx, e.pool, p.StepID)
	if err != nil {
		return nil, store.InterpretError(op, err)
	}
	if state.ClaimToken != p.ClaimToken || state.Status != tt.StepInProgress {
		return nil, &tt.StaleClaimError{StepID: p.StepID, Status: state.Status}
	}
	res, err := store.StepAncestorResults(ctx, e.pool, p.StepID, names)
	if err != nil {
		return nil, store.InterpretError(op, err)
	}
	v := &tt.ValidationError{Op: op}
	missing := map[string]bool{}
	for i, n := range p.Names {
		if _, ok := res[n]; !ok && !missing[n] {
			missing[n] = true
			v.Problems = append(v.Problems, tt.FieldError{Field: fmt.Sprintf("names[%d]", i),
				Problem: fmt.Sprintf("step %q is not an ancestor of %q", n, state.Name)})
		}
	}
	if len(v.Problems) > 0 {
		return nil, v
	}
	return res, nil
}

// distinctNames checks the names asked for and drops repeats.
func distinctNames(op string, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, tt.NewValidationError(op, "names", "must name at least one step")
	}
	if len(names) > template.MaxSteps {
		return nil, tt.NewValidationError(op, "names", "must name at most %d steps, got %d", template.MaxSteps, len(names))
	}
	v := &tt.ValidationError{Op: op}
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for i, n := range names {
		if n == "" {
			v.Problems = append(v.Problems, tt.FieldError{Field: fmt.Sprintf("names[%d]", i), Problem: "must not be empty"})
			continue
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(v.Problems) > 0 {
		return nil, v
	}
	return out, nil
}
