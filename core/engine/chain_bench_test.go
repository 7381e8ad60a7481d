package engine_test

// A long linear chain stays linear: a claim carries its direct parents'
// results only, so claiming (and completing, with finalization) the last
// steps of a 1000-step chain costs what the first ones do.
//
//	go test ./core/engine -run '^$' -bench BenchmarkChain1000 -benchtime 1x -count 1 -v
//
// One iteration runs chain A one step at a time (claim, then complete).
// It logs the per-step cost (medians) of A's first 100 and last 100 steps
// and their ratio, for the claim, the completion (with finalization) and
// both. On a shared machine the load drifts between the start and the end
// of a chain, so A's last 100 steps run interleaved with the first 100 of a
// second chain B started then: those two windows see the same load, and
// their ratio shows any growth along the chain by itself. It also logs what
// A's last step asks of AncestorResults: its grandparent (two generations)
// and the root (the whole chain).

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

const (
	chainLength = 1000
	chainWindow = 100
)

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

// chainRun drives one chain task through its own namespace, recording the
// cost of each step's claim and completion.
type chainRun struct {
	ns       string
	next     int
	claim    []time.Duration
	complete []time.Duration
}

// A results document of a realistic size (about 1 KB), so that carrying
// every ancestor's would show.
var chainResults = json.RawMessage(`{"payload":"` + strings.Repeat("x", 1000) + `"}`)

func startChain(b *testing.B, e *engine.Engine) *chainRun {
	ctx := context.Background()
	c := &chainRun{ns: taskertest.Namespace(b), claim: make([]time.Duration, chainLength),
		complete: make([]time.Duration, chainLength)}
	spec := chainSpec(c.ns, chainLength)
	if _, err := e.RegisterTemplate(ctx, spec); err != nil {
		b.Fatal(err)
	}
	if _, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: c.ns, Name: spec.Name, Context: json.RawMessage(`{}`),
		IdentityStrategy: tt.IdentityAlwaysUnique}); err != nil {
		b.Fatal(err)
	}
	return c
}

// step claims and completes the chain's next step; before completing, it
// runs during (if not nil) on behalf of the claimed step.
func (c *chainRun) step(b *testing.B, e *engine.Engine, during func(*tt.ClaimedStep)) {
	ctx := context.Background()
	i := c.next
	t0 := time.Now()
	res, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{c.ns}, Limit: 1, WorkerID: "chain"})
	if err != nil {
		b.Fatal(err)
	}
	c.claim[i] = time.Since(t0)
	if len(res.Steps) != 1 || res.Steps[0].StepName != chainStep(i) {
		b.Fatalf("step %d: claimed %+v", i, res.Steps)
	}
	s := res.Steps[0]
	if want := min(i, 1); len(s.DependencyResults) != want {
		b.Fatalf("%s: %d dependency results, want %d", s.StepName, len(s.DependencyResults), want)
	}
	if during != nil {
		during(&s)
	}
	t0 = time.Now()
	out, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: chainResults})
	if err != nil {
		b.Fatal(err)
	}
	c.complete[i] = time.Since(t0)
	if i == chainLength-1 && out.TaskStatus != tt.TaskComplete {
		b.Fatalf("task is %s after the last step", out.TaskStatus)
	}
	c.next++
}

func (c *chainRun) total() []time.Duration {
	t := make([]time.Duration, chainLength)
	for i := range t {
		t[i] = c.claim[i] + c.complete[i]
	}
	return t
}

func BenchmarkChain1000(b *testing.B) {
	e := taskertest.Engine(b)
	b.ReportMetric(0, "ns/op")
	for range b.N {
		a := startChain(b, e)
		for a.next < chainLength-chainWindow {
			a.step(b, e, nil)
		}
		// A's last steps, each followed by one of B's first steps.
		bc := startChain(b, e)
		var grandparent, root time.Duration
		for a.next < chainLength {
			var during func(*tt.ClaimedStep)
			if a.next == chainLength-1 {
				during = func(s *tt.ClaimedStep) {
					grandparent = timeAncestors(b, e, s, chainStep(chainLength-3))
					root = timeAncestors(b, e, s, chainStep(0))
				}
			}
			a.step(b, e, during)
			bc.step(b, e, nil)
		}
		first := func(d []time.Duration) time.Duration { return median(d[:chainWindow]) }
		last := func(d []time.Duration) time.Duration { return median(d[chainLength-chainWindow:]) }
		for _, r := range []struct {
			what string
			a, b []time.Duration
		}{{"claim", a.claim, bc.claim}, {"complete", a.complete, bc.complete}, {"claim+complete", a.total(), bc.total()}} {
			b.Logf("%-15s A's first %d steps %6.2f ms/step, last %d %6.2f ms/step (%.2fx); B's first %d alongside A's last %6.2f ms/step (A's last / B's first %.2fx)",
				r.what, chainWindow, ms(first(r.a)), chainWindow, ms(last(r.a)), float64(last(r.a))/float64(first(r.a)),
				chainWindow, ms(first(r.b)), float64(last(r.a))/float64(first(r.b)))
		}
		b.Logf("ancestor results at step %d (median of 5): grandparent %.2f ms, root %.2f ms", chainLength-1, ms(grandparent), ms(root))
		at, bt := a.total(), bc.total()
		b.ReportMetric(ms(first(at)), "first100-ms/step")
		b.ReportMetric(ms(last(at)), "last100-ms/step")
		b.ReportMetric(float64(last(at))/float64(first(at)), "last/first")
		b.ReportMetric(float64(last(at))/float64(first(bt)), "last/first-same-load")
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
	return median(times)
}

// median is robust to the load spikes of a shared machine, which a mean of
// 100 steps is not.
func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
