package engine_test

// A long linear chain stays linear: a claim carries its direct parents'
// results only, so claiming (and completing, with finalization) the last
// steps of a 1000-step chain costs what the first ones do.
//
//	go test ./core/engine -run '^$' -bench BenchmarkChain1000 -benchtime 1x -count 1 -v
//
// One iteration runs one chain, one step at a time (claim, then complete);
// the figures to read are the logged per-step costs of the first and the
// last 100 steps and their ratio, for the claim, the completion and both.
// It also logs what a step at the end asks of AncestorResults: its
// grandparent (two generations) and the root (the whole chain).

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

const chainLength = 1000

func chainSpec(ns string, n int) *tt.TemplateSpec {
	steps := make([]tt.StepSpec, n)
	for i := range steps {
		steps[i] = tt.StepSpec{Name: chainStep(i), Handler: "Link"}
		if i > 0 {
			steps[i].DependsOn = []string{chainStep(i - 1)}
		}
	}
	return &tt.TemplateSpec{Namespace: ns, Name: "chain", Version: "1.0.0", Steps: steps}
}

func chainStep(i int) string { return fmt.Sprintf("step_%04d", i) }

func BenchmarkChain1000(b *testing.B) {
	ctx := context.Background()
	e := taskertest.Engine(b)
	ns := taskertest.Namespace(b)
	spec := chainSpec(ns, chainLength)
	if _, err := e.RegisterTemplate(ctx, spec); err != nil {
		b.Fatal(err)
	}
	const window = 100
	// A results document of a realistic size (about 1 KB), so that carrying
	// every ancestor's would show.
	results := json.RawMessage(`{"payload":"` + strings.Repeat("x", 1000) + `"}`)
	b.ReportMetric(0, "ns/op")
	for range b.N {
		if _, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name, Context: json.RawMessage(`{}`),
			IdentityStrategy: tt.IdentityAlwaysUnique}); err != nil {
			b.Fatal(err)
		}
		claim := make([]time.Duration, chainLength)
		complete := make([]time.Duration, chainLength)
		var grandparent, root time.Duration
		for i := range chainLength {
			t0 := time.Now()
			res, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 1, WorkerID: "chain"})
			if err != nil {
				b.Fatal(err)
			}
			claim[i] = time.Since(t0)
			if len(res.Steps) != 1 || res.Steps[0].StepName != chainStep(i) {
				b.Fatalf("step %d: claimed %+v", i, res.Steps)
			}
			s := res.Steps[0]
			if want := min(i, 1); len(s.DependencyResults) != want {
				b.Fatalf("%s: %d dependency results, want %d", s.StepName, len(s.DependencyResults), want)
			}
			if i == chainLength-1 {
				grandparent = timeAncestors(b, e, &s, chainStep(i-2))
				root = timeAncestors(b, e, &s, chainStep(0))
			}
			t0 = time.Now()
			out, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: results})
			if err != nil {
				b.Fatal(err)
			}
			complete[i] = time.Since(t0)
			if i == chainLength-1 && out.TaskStatus != tt.TaskComplete {
				b.Fatalf("task is %s after the last step", out.TaskStatus)
			}
		}
		report := func(what string, d []time.Duration) {
			first, last := mean(d[:window]), mean(d[len(d)-window:])
			b.Logf("%-16s first %d steps %6.2f ms/step, last %d steps %6.2f ms/step, last/first %.2fx",
				what, window, ms(first), window, ms(last), float64(last)/float64(first))
		}
		total := make([]time.Duration, chainLength)
		for i := range total {
			total[i] = claim[i] + complete[i]
		}
		report("claim", claim)
		report("complete", complete)
		report("claim+complete", total)
		b.Logf("ancestor results at step %d (median of 5): grandparent %.2f ms, root %.2f ms", chainLength-1, ms(grandparent), ms(root))
		first, last := mean(total[:window]), mean(total[len(total)-window:])
		b.ReportMetric(ms(first), "first100-ms/step")
		b.ReportMetric(ms(last), "last100-ms/step")
		b.ReportMetric(float64(last)/float64(first), "last/first")
	}
}

// timeAncestors asks for one ancestor's results on behalf of s five times
// and returns the median time (the first call also prepares the statement).
func timeAncestors(b *testing.B, e *engine.Engine, s *tt.ClaimedStep, name string) time.Duration {
	times := make([]time.Duration, 5)
	for i := range times {
		t0 := time.Now()
		got, err := e.AncestorResults(context.Background(), &tt.AncestorResultsParams{StepID: s.WorkflowStepID,
			ClaimToken: s.ClaimToken, Names: []string{name}})
		if err != nil {
			b.Fatal(err)
		}
		if len(got[name]) == 0 {
			b.Fatalf("no results of %s", name)
		}
		times[i] = time.Since(t0)
	}
	slices.Sort(times)
	return times[len(times)/2]
}

func mean(d []time.Duration) time.Duration {
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return sum / time.Duration(len(d))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
