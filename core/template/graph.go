package template

import (
	"container/heap"

	"github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// maxCycleReports caps how many cycles one validation error lists.
const maxCycleReports = 10

// findCycles walks g (node -> its children) depth first, without recursion,
// starting from nodes in order, and returns up to limit cycles, each as its
// nodes in edge order, rotated to start at its smallest node. Once a node is
// part of a reported cycle, another cycle closing on it is not reported, so
// the work stays linear. more is true when cycles were left out because of
// limit.
func findCycles(g [][]int, nodes []int, limit int) (cycles [][]int, more bool) {
	const (
		white = iota // not visited
		gray         // on the stack
		black        // done
	)
	color := make([]uint8, len(g))
	pos := make([]int, len(g)) // index in stack while gray
	reported := make([]bool, len(g))
	type frame struct{ node, next int }
	var stack []frame

	for _, root := range nodes {
		if color[root] != white {
			continue
		}
		color[root], pos[root] = gray, 0
		stack = append(stack[:0], frame{node: root})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(g[top.node]) {
				color[top.node] = black
				stack = stack[:len(stack)-1]
				continue
			}
			v := g[top.node][top.next]
			top.next++
			switch color[v] {
			case white:
				color[v], pos[v] = gray, len(stack)
				stack = append(stack, frame{node: v})
			case gray:
				if reported[v] {
					continue
				}
				if len(cycles) == limit {
					more = true
					continue
				}
				cyc := make([]int, 0, len(stack)-pos[v])
				for _, f := range stack[pos[v]:] {
					cyc = append(cyc, f.node)
					reported[f.node] = true
				}
				cycles = append(cycles, rotateToMin(cyc))
			}
		}
	}
	return cycles, more
}

func rotateToMin(cyc []int) []int {
	m := 0
	for i, n := range cyc {
		if n < cyc[m] {
			m = i
		}
	}
	return append(cyc[m:len(cyc):len(cyc)], cyc[:m]...)
}

// topoOrder orders an acyclic graph with Kahn's algorithm, taking among the
// ready steps the one declared first, and computes each step's level.
func topoOrder(g [][]int, steps []taskertype.StepSpec) (order []string, levels map[string]int) {
	indegree := make([]int, len(steps))
	for _, children := range g {
		for _, ch := range children {
			indegree[ch]++
		}
	}
	ready := make(intHeap, 0, len(steps))
	for i, d := range indegree {
		if d == 0 {
			ready = append(ready, i)
		}
	}
	heap.Init(&ready)

	level := make([]int, len(steps))
	order = make([]string, 0, len(steps))
	levels = make(map[string]int, len(steps))
	for ready.Len() > 0 {
		i := heap.Pop(&ready).(int)
		order = append(order, steps[i].Name)
		levels[steps[i].Name] = level[i]
		for _, ch := range g[i] {
			level[ch] = max(level[ch], level[i]+1)
			if indegree[ch]--; indegree[ch] == 0 {
				heap.Push(&ready, ch)
			}
		}
	}
	return order, levels
}

// intHeap is a min-heap of step indexes.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
