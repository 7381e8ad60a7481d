package template

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// A small schema can still take exponential time to check: when subschemas
// refer to one another through allOf, anyOf, oneOf or $ref, each reference
// multiplies the evaluations, and the validator does not remember results.
// {"$defs": {"d0": {"allOf": [{"$ref": "#/$defs/d1"}, {"$ref": "#/$defs/d1"}]},
// "d1": ...}} with 40 levels would never finish. schemaCostProblem finds such
// schemas at registration, so that checking a task's context stays cheap.
const (
	// maxEvaluationsPerValue bounds how many subschema evaluations checking
	// one value of a context may cost.
	maxEvaluationsPerValue = 10000
	// maxCostStates and maxCostWork bound the analysis itself (states
	// visited, and subschemas counted over all states). A schema whose
	// analysis needs more is accepted: exponential growth shows long before.
	maxCostStates = 20000
	maxCostWork   = 5_000_000
)

// costState is a set of subschemas, with multiplicities, that apply to one
// abstract value of a context: "the value of property sku in an item of the
// array items".
type costState struct {
	counts map[*jsonschema.Schema]int
	leaf   bool // the value is an object key: a string, with no children
}

// schemaCostProblem walks abstract contexts, from the root down through
// properties and items, counting how many times each subschema would be
// evaluated at each value. It returns a problem when some value would cost
// more than maxEvaluationsPerValue evaluations.
func schemaCostProblem(root *jsonschema.Schema) string {
	ids := map[*jsonschema.Schema]int{}
	id := func(s *jsonschema.Schema) int {
		if n, ok := ids[s]; ok {
			return n
		}
		ids[s] = len(ids)
		return ids[s]
	}
	key := func(st costState) string {
		parts := make([]string, 0, len(st.counts)+1)
		for s, c := range st.counts {
			parts = append(parts, strconv.Itoa(id(s))+"*"+strconv.Itoa(c))
		}
		slices.Sort(parts)
		if st.leaf {
			parts = append(parts, "leaf")
		}
		return strings.Join(parts, ",")
	}

	start := costState{counts: map[*jsonschema.Schema]int{root: 1}}
	seen := map[string]bool{key(start): true}
	queue := []costState{start}
	work := 0
	for len(queue) > 0 && len(seen) <= maxCostStates && work <= maxCostWork {
		st := queue[0]
		queue = queue[1:]
		closure, total := sameValueClosure(st.counts)
		work += len(closure)
		if total > maxEvaluationsPerValue {
			return fmt.Sprintf("context_schema is too costly to check: a value would be checked against subschemas more than %d times, "+
				"because they apply each other (allOf, anyOf, oneOf, $ref) at many levels; simplify it", maxEvaluationsPerValue)
		}
		if st.leaf {
			continue
		}
		for _, child := range childStates(closure) {
			if k := key(child); !seen[k] {
				seen[k] = true
				queue = append(queue, child)
			}
		}
	}
	return ""
}

// sameValue calls f for each subschema that s applies to the same value.
func sameValue(s *jsonschema.Schema, f func(*jsonschema.Schema)) {
	for _, t := range []*jsonschema.Schema{s.Ref, s.RecursiveRef, s.Not, s.If, s.Then, s.Else} {
		if t != nil {
			f(t)
		}
	}
	if s.DynamicRef != nil && s.DynamicRef.Ref != nil {
		f(s.DynamicRef.Ref)
	}
	for _, list := range [][]*jsonschema.Schema{s.AllOf, s.AnyOf, s.OneOf} {
		for _, t := range list {
			f(t)
		}
	}
	for _, t := range s.DependentSchemas {
		f(t)
	}
	for _, d := range s.Dependencies {
		if t, ok := d.(*jsonschema.Schema); ok {
			f(t)
		}
	}
}

// sameValueClosure counts the evaluations at one value: the subschemas
// applied to it directly, and those they apply to the same value, once per
// path. A cycle of references within one value is cut (the validator stops
// it with an error). Counts saturate above maxEvaluationsPerValue.
func sameValueClosure(start map[*jsonschema.Schema]int) (map[*jsonschema.Schema]int, int) {
	// Order the reachable subschemas so that each comes before those it
	// applies, dropping the edges that close a cycle.
	const (
		unvisited = iota
		active
		done
	)
	state := map[*jsonschema.Schema]uint8{}
	edges := map[*jsonschema.Schema][]*jsonschema.Schema{}
	var post []*jsonschema.Schema
	type frame struct {
		s    *jsonschema.Schema
		next []*jsonschema.Schema
	}
	roots := make([]*jsonschema.Schema, 0, len(start))
	for s := range start {
		roots = append(roots, s)
	}
	for _, r := range roots {
		if state[r] != unvisited {
			continue
		}
		var stack []frame
		push := func(s *jsonschema.Schema) {
			state[s] = active
			var next []*jsonschema.Schema
			sameValue(s, func(t *jsonschema.Schema) { next = append(next, t) })
			stack = append(stack, frame{s: s, next: next})
		}
		push(r)
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if len(top.next) == 0 {
				state[top.s] = done
				post = append(post, top.s)
				stack = stack[:len(stack)-1]
				continue
			}
			t := top.next[0]
			top.next = top.next[1:]
			switch state[t] {
			case active: // a cycle: cut
			case done:
				edges[top.s] = append(edges[top.s], t)
			default:
				edges[top.s] = append(edges[top.s], t)
				push(t)
			}
		}
	}

	counts := make(map[*jsonschema.Schema]int, len(post))
	for s, c := range start {
		counts[s] = c
	}
	total := 0
	for i := len(post) - 1; i >= 0; i-- {
		s := post[i]
		c := counts[s]
		total = satAdd(total, c)
		for _, t := range edges[s] {
			counts[t] = satAdd(counts[t], c)
		}
	}
	return counts, total
}

func satAdd(a, b int) int {
	return min(a+b, maxEvaluationsPerValue+1)
}

// childStates returns the states of the children of a value to which the
// subschemas in closure apply: one per property named by some schema, one for
// each patternProperties pattern, one for any other property, one for object
// keys, one per tuple position and one for any other array item. Where it
// cannot know, it guesses high (unevaluated keywords apply everywhere), except
// that it takes different patterns to match different names.
func childStates(closure map[*jsonschema.Schema]int) []costState {
	add := func(m map[*jsonschema.Schema]int, s *jsonschema.Schema, c int) {
		if s != nil {
			m[s] = satAdd(m[s], c)
		}
	}
	asSchema := func(v any) *jsonschema.Schema {
		s, _ := v.(*jsonschema.Schema)
		return s
	}

	names := map[string]bool{}
	tuple := 0
	for s := range closure {
		for n := range s.Properties {
			names[n] = true
		}
		tuple = max(tuple, len(s.PrefixItems))
		if items, ok := s.Items.([]*jsonschema.Schema); ok {
			tuple = max(tuple, len(items))
		}
	}
	sortedNames := make([]string, 0, len(names))
	for n := range names {
		sortedNames = append(sortedNames, n)
	}
	slices.Sort(sortedNames)

	var out []costState
	emit := func(m map[*jsonschema.Schema]int, leaf bool) {
		if len(m) > 0 {
			out = append(out, costState{counts: m, leaf: leaf})
		}
	}

	// Named properties.
	for _, n := range sortedNames {
		m := map[*jsonschema.Schema]int{}
		for s, c := range closure {
			matched := false
			if t, ok := s.Properties[n]; ok {
				add(m, t, c)
				matched = true
			}
			for re, t := range s.PatternProperties {
				if re.MatchString(n) {
					add(m, t, c)
					matched = true
				}
			}
			if !matched {
				add(m, asSchema(s.AdditionalProperties), c)
			}
			add(m, s.UnevaluatedProperties, c)
		}
		emit(m, false)
	}
	// Other properties: one state per pattern, taking patterns as mutually
	// exclusive (the usual case), and one for a name no pattern matches.
	patterns := map[string]bool{}
	for s := range closure {
		for re := range s.PatternProperties {
			patterns[re.String()] = true
		}
	}
	sortedPatterns := make([]string, 0, len(patterns))
	for p := range patterns {
		sortedPatterns = append(sortedPatterns, p)
	}
	slices.Sort(sortedPatterns)
	for _, p := range sortedPatterns {
		m := map[*jsonschema.Schema]int{}
		for s, c := range closure {
			matched := false
			for re, t := range s.PatternProperties {
				if re.String() == p {
					add(m, t, c)
					matched = true
				}
			}
			if !matched {
				add(m, asSchema(s.AdditionalProperties), c)
			}
			add(m, s.UnevaluatedProperties, c)
		}
		emit(m, false)
	}
	other, keys := map[*jsonschema.Schema]int{}, map[*jsonschema.Schema]int{}
	for s, c := range closure {
		add(other, asSchema(s.AdditionalProperties), c)
		add(other, s.UnevaluatedProperties, c)
		add(keys, s.PropertyNames, c)
	}
	emit(other, false)
	emit(keys, true)

	// Array items: tuple positions, then the rest.
	rest := func(s *jsonschema.Schema) *jsonschema.Schema {
		if s.Items2020 != nil {
			return s.Items2020
		}
		if t := asSchema(s.Items); t != nil {
			return t
		}
		return asSchema(s.AdditionalItems)
	}
	for i := 0; i <= tuple; i++ {
		m := map[*jsonschema.Schema]int{}
		for s, c := range closure {
			prefix := s.PrefixItems
			if items, ok := s.Items.([]*jsonschema.Schema); ok {
				prefix = items
			}
			if i < len(prefix) {
				add(m, prefix[i], c)
			} else {
				add(m, rest(s), c)
			}
			add(m, s.Contains, c)
			add(m, s.UnevaluatedItems, c)
		}
		emit(m, false)
	}
	return out
}
