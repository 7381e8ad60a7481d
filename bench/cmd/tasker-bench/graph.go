package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// graph records, for every unit of a row (a job or a step), when its handler
// started (start), when its handler returned and its report began (report),
// and when its report was durable (durable: the commit returned for River,
// Complete returned for us). Parents say which unit's report a unit waited
// for; handoffs are computed from these stamps after the row.
type graph struct {
	base    time.Time
	start   []atomic.Int64 // ns since base, +1 so that 0 means unset
	report  []atomic.Int64
	durable []atomic.Int64
	parents func(i int) []int
	done    atomic.Int64
	signal  chan struct{}
}

func newGraph(n int, parents func(i int) []int) *graph {
	return &graph{
		base:    time.Now(),
		start:   make([]atomic.Int64, n),
		report:  make([]atomic.Int64, n),
		durable: make([]atomic.Int64, n),
		parents: parents,
		signal:  make(chan struct{}, 1),
	}
}

func (g *graph) stamp(s []atomic.Int64, i int) {
	if i >= 0 && i < len(s) {
		s[i].Store(int64(time.Since(g.base)) + 1)
	}
}

func (g *graph) markStart(i int)  { g.stamp(g.start, i) }
func (g *graph) markReport(i int) { g.stamp(g.report, i) }

// markDurable records a durable report and counts the unit done.
func (g *graph) markDurable(i int) {
	g.stamp(g.durable, i)
	g.done.Add(1)
	select {
	case g.signal <- struct{}{}:
	default:
	}
}

// wait blocks until n units are done, ctx ends or nothing progresses for
// stall.
func (g *graph) wait(ctx context.Context, n int64, stall time.Duration) error {
	t := time.NewTimer(stall)
	defer t.Stop()
	last := g.done.Load()
	for {
		d := g.done.Load()
		if d >= n {
			return nil
		}
		if d != last {
			last = d
			t.Reset(stall)
		}
		select {
		case <-g.signal:
		case <-t.C:
			return fmt.Errorf("stalled: %d of %d units done, none for %s", g.done.Load(), n, stall)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// handoffs returns, for every unit with parents, the time from its last
// parent's durable report to its start (durable→start, clamped at 0) and from
// that parent's report start to its start (report→start); early counts the
// units that started before their parent's report call returned.
func (g *graph) handoffs() (durToStart, repToStart []time.Duration, early int) {
	for i := range g.start {
		ps := g.parents(i)
		if len(ps) == 0 {
			continue
		}
		s := g.start[i].Load()
		if s == 0 {
			continue
		}
		var last, lastRep int64
		ok := true
		for _, p := range ps {
			d := g.durable[p].Load()
			if d == 0 {
				ok = false
				break
			}
			if d > last {
				last, lastRep = d, g.report[p].Load()
			}
		}
		if !ok {
			continue
		}
		h := time.Duration(s - last)
		if h < 0 {
			early++
			h = 0
		}
		durToStart = append(durToStart, h)
		if lastRep != 0 {
			repToStart = append(repToStart, time.Duration(s-lastRep))
		}
	}
	return durToStart, repToStart, early
}

// percentile returns the p-th percentile (0..100, nearest rank) in ms.
func percentile(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	k = max(0, min(k, len(s)-1))
	return float64(s[k]) / float64(time.Millisecond)
}

func ptr[T any](v T) *T { return &v }

// chainParents is the parents function of chains of length n laid out chain
// after chain: unit c*n+i waits for c*n+i-1.
func chainParents(n int) func(int) []int {
	return func(i int) []int {
		if i%n == 0 {
			return nil
		}
		return []int{i - 1}
	}
}

// dagWidth is the fan-out of the DAG rows: root -> dagWidth branches -> join.
const dagWidth = 8

// dagNodes is the units per DAG: root, the branches, the join.
const dagNodes = dagWidth + 2

// dagParents lays DAGs out one after another: node 0 the root, 1..dagWidth
// the branches, dagWidth+1 the join.
func dagParents(i int) []int {
	base, node := i/dagNodes*dagNodes, i%dagNodes
	switch {
	case node == 0:
		return nil
	case node <= dagWidth:
		return []int{base}
	default:
		ps := make([]int, dagWidth)
		for b := range dagWidth {
			ps[b] = base + 1 + b
		}
		return ps
	}
}
