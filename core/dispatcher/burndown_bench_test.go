package dispatcher_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// BenchmarkBurnDown drains b.N one-step tasks with 50 executor goroutines
// and no-op handlers, the bench module's burn-down row in miniature:
//
//	go test ./core/dispatcher -run '^$' -bench BurnDown -benchtime 5000x -count 1
func BenchmarkBurnDown(b *testing.B) {
	bb := setupFreshB(b)
	_, err := bb.eng.RegisterTemplate(context.Background(), oneStep(bb.ns, "unit", nil))
	require.NoError(b, err)
	ctx := context.Background()
	for i := range b.N {
		_, err := bb.eng.InitializeTask(ctx, &tt.TaskRequest{Namespace: bb.ns, Name: "unit", Version: "1.0.0",
			Initiator: "bench", Context: json.RawMessage(`{"i":` + itoa(int64(i)) + `}`)})
		require.NoError(b, err)
	}
	_, err = bb.eng.Pool().Exec(ctx, "ANALYZE")
	require.NoError(b, err)
	d, err := dispatcher.New(bb.eng, dispatcher.Config{WorkerID: "bench", Namespaces: []string{bb.ns},
		FetchCooldown: 2 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond})
	require.NoError(b, err)
	b.ResetTimer()
	start := time.Now()
	require.NoError(b, d.Start(ctx))
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	finished := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			for {
				s, err := d.Next(ctx)
				if err != nil {
					return
				}
				if _, err := d.Complete(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken,
					Results: json.RawMessage(`{}`)}); err != nil {
					b.Error(err)
				}
				mu.Lock()
				done++
				if done == b.N {
					close(finished)
				}
				mu.Unlock()
			}
		})
	}
	<-finished
	elapsed := time.Since(start)
	b.StopTimer()
	_ = d.Stop(ctx)
	wg.Wait()
	st := d.Stats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "steps/s")
	b.ReportMetric(float64(st.Claims)/float64(b.N), "claims/step")
	b.ReportMetric(float64(st.Flushes)/float64(b.N), "flushes/step")
}
