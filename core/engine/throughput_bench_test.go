package engine_test

// End-to-end throughput of the engine from Go: initialize diamond tasks, then
// workers claim in batches and complete every step.
//
//	go test ./core/engine -run '^$' -bench BenchmarkThroughput -benchtime 400x -count 1
//
// b.N is the number of tasks (4 steps each); the figure to read is steps/s.

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

func BenchmarkThroughput(b *testing.B) {
	for _, workers := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			ctx := context.Background()
			e := taskertest.Engine(b)
			ns := taskertest.Namespace(b)
			spec := taskertest.SimpleDiamondWorkflow(ns)
			if _, err := e.RegisterTemplate(ctx, spec); err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				_, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: ns, Name: spec.Name,
					Context: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)), IdentityStrategy: tt.IdentityAlwaysUnique})
				if err != nil {
					b.Fatal(err)
				}
			}
			want := int64(b.N * len(spec.Steps))
			var done atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for done.Load() < want {
						claim, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 10, WorkerID: fmt.Sprintf("w%d", w)})
						if err != nil {
							b.Error(err)
							return
						}
						for _, s := range claim.Steps {
							if _, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: json.RawMessage(`{"ok":true}`)}); err != nil {
								b.Error(err)
								return
							}
							done.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.ReportMetric(float64(want)/elapsed.Seconds(), "steps/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
