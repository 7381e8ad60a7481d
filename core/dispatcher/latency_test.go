package dispatcher_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// The latency histograms count what the counters count: one claim
// observation per claim round trip, one handoff per step handed out, one
// report per executor's report; buckets are cumulative and durations add
// up.
func TestDispatcherLatencyHistograms(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, taskertest.DiamondWorkflow(b.ns))
	ids := b.tasks(t, "diamond_workflow", 5)
	d := b.start(t, dispatcher.Config{})
	wg := executors(t, d, 4, &runs{}, func(s *tt.ClaimedStep) (any, error) {
		return map[string]any{"step": s.StepName}, nil
	})
	b.waitTasks(t, ids, 60*time.Second)
	d.Quiet()
	wg.Wait()

	s := d.Stats()
	require.EqualValues(t, 5*7, s.Completed)
	require.Equal(t, s.Claims, s.ClaimSeconds.Count, "one observation per claim round trip")
	require.EqualValues(t, 5*7, s.HandoffSeconds.Count, "one observation per step handed out")
	require.EqualValues(t, 5*7, s.ReportSeconds.Count, "one observation per executor report")
	for name, h := range map[string]dispatcher.Histogram{"claim": s.ClaimSeconds, "handoff": s.HandoffSeconds, "report": s.ReportSeconds} {
		require.Len(t, h.Bounds, len(dispatcher.LatencyBounds), name)
		require.Len(t, h.Counts, len(h.Bounds), name)
		for i := 1; i < len(h.Counts); i++ {
			require.GreaterOrEqual(t, h.Counts[i], h.Counts[i-1], "%s: buckets are cumulative: %v", name, h.Counts)
		}
		require.LessOrEqual(t, h.Counts[len(h.Counts)-1], h.Count, name)
		if h.Count > 0 {
			require.Positive(t, h.SumSeconds, "%s: durations add up", name)
		}
	}
	require.Positive(t, s.ReportSeconds.SumSeconds, "a report waits at least for its flush's round trip")
}
