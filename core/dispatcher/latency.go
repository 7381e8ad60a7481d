package dispatcher

import "time"

// LatencyBounds are the upper bounds, in seconds, of the dispatcher's
// latency histograms' buckets (Prometheus' "le"); a last, unbounded bucket
// counts the rest.
var LatencyBounds = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Histogram is a latency histogram in Prometheus' shape: Counts[i] is how
// many observations took at most Bounds[i] seconds (cumulative), Count all
// of them and SumSeconds their total.
type Histogram struct {
	Bounds     []float64 `json:"bounds"`
	Counts     []int64   `json:"counts"`
	Count      int64     `json:"count"`
	SumSeconds float64   `json:"sum_seconds"`
}

// histogram counts observations per bucket. Fixed-size arrays, so a copy
// is a snapshot; guarded by the dispatcher's mu.
type histogram struct {
	buckets [len(LatencyBounds) + 1]int64
	sum     time.Duration
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(LatencyBounds) && s > LatencyBounds[i] {
		i++
	}
	h.buckets[i]++
	h.sum += d
}

func (h *histogram) snapshot() Histogram {
	out := Histogram{Bounds: LatencyBounds[:], Counts: make([]int64, len(LatencyBounds)), SumSeconds: h.sum.Seconds()}
	for i, n := range h.buckets {
		out.Count += n
		if i < len(LatencyBounds) {
			out.Counts[i] = out.Count
		}
	}
	return out
}

// latencies are what the dispatcher times at the source:
//   - claim: each claim round trip of the producer (the database's answer
//     to "give me up to n ready steps");
//   - handoff: from a step's claim (by the producer, or by a flush for this
//     worker) to an executor receiving it: near zero while executors wait,
//     longer when a step waits for one as a spare;
//   - report: from an executor's report to its being durable (queued, then
//     recorded by a flush).
type latencies struct {
	claim, handoff, report histogram
}
