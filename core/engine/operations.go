package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// The operations surface's reads: a page of tasks and the summary of
// `tasker-core stats` (stuck work is in stuck.go).

// maxAgeSeconds bounds the age filters (about 100 years).
const maxAgeSeconds = 100 * 365 * 24 * 3600

// ListTasks returns a page of tasks, newest first, with their steps
// counted. Unknown states, a page larger than MaxTaskListLimit and
// inconsistent filters are a ValidationError; a namespace or template with
// nothing registered is a NotFoundError.
func (e *Engine) ListTasks(ctx context.Context, p *tt.TaskListParams) (*tt.TaskList, error) {
	sp, err := validateTaskList(p)
	if err != nil {
		return nil, err
	}
	if p.Namespace != "" {
		sp.ByTemplate = true
		sp.Templates, err = store.NamedTaskIDsMatching(ctx, e.pool, p.Namespace, p.Name, p.Version)
		if err != nil {
			return nil, store.InterpretError("list_tasks", err)
		}
		if len(sp.Templates) == 0 {
			return nil, unknownTemplate(p)
		}
	}
	limit := sp.Limit
	sp.Limit++ // one more row says whether a next page exists
	tasks, err := store.TaskList(ctx, e.pool, sp)
	if err != nil {
		return nil, store.InterpretError("list_tasks", err)
	}
	res := &tt.TaskList{Tasks: tasks}
	if len(tasks) > limit {
		res.Tasks = tasks[:limit]
		next := res.Tasks[limit-1].TaskID
		res.NextBeforeTaskID = &next
	}
	if len(res.Tasks) == 0 {
		return res, nil
	}
	ids := make([]int64, len(res.Tasks))
	for i, t := range res.Tasks {
		ids[i] = t.TaskID
	}
	counts, err := store.TaskStepCountsMany(ctx, e.pool, ids)
	if err != nil {
		return nil, store.InterpretError("list_tasks", err)
	}
	for i := range res.Tasks {
		c := counts[res.Tasks[i].TaskID]
		res.Tasks[i].Steps = tt.StepTally{Total: c.Total, Done: c.Done, Failed: c.Failed, Active: c.Active}
	}
	return res, nil
}

func validateTaskList(p *tt.TaskListParams) (*store.TaskListParams, error) {
	if p == nil {
		return nil, tt.NewValidationError("list_tasks", "", "parameters are required")
	}
	v := &tt.ValidationError{Op: "list_tasks"}
	problem := func(field, format string, args ...any) {
		v.Problems = append(v.Problems, tt.FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	sp := &store.TaskListParams{BeforeTaskID: p.BeforeTaskID, Limit: p.Limit}
	for i, s := range p.States {
		if !slices.Contains(tt.TaskStates(), s) {
			problem(fmt.Sprintf("states[%d]", i), "unknown task state %q; valid states: %s", truncate(string(s), 64), taskStateList())
		} else if !slices.Contains(sp.States, string(s)) {
			sp.States = append(sp.States, string(s))
		}
	}
	if p.Name != "" && p.Namespace == "" {
		problem("name", "needs a namespace")
	}
	if p.Version != "" && p.Name == "" {
		problem("version", "needs a name")
	}
	for _, a := range []struct {
		field string
		v     int64
		out   **int64
	}{{"older_than_seconds", p.OlderThanSeconds, &sp.OlderThanMS}, {"newer_than_seconds", p.NewerThanSeconds, &sp.NewerThanMS}} {
		switch {
		case a.v < 0 || a.v > maxAgeSeconds:
			problem(a.field, "must be within 0..%d (0: no bound), got %d", maxAgeSeconds, a.v)
		case a.v > 0:
			ms := a.v * 1000
			*a.out = &ms
		}
	}
	if p.OlderThanSeconds > 0 && p.NewerThanSeconds > 0 && p.OlderThanSeconds >= p.NewerThanSeconds {
		problem("older_than_seconds", "must be less than newer_than_seconds (%d), got %d: no task can match",
			p.NewerThanSeconds, p.OlderThanSeconds)
	}
	if p.BeforeTaskID < 0 {
		problem("before_task_id", "must be >= 0 (0: from the newest task), got %d", p.BeforeTaskID)
	}
	if sp.Limit == 0 {
		sp.Limit = tt.DefaultTaskListLimit
	}
	if sp.Limit < 1 || sp.Limit > tt.MaxTaskListLimit {
		problem("limit", "must be within 1..%d, got %d", tt.MaxTaskListLimit, p.Limit)
	}
	if len(v.Problems) > 0 {
		return nil, v
	}
	return sp, nil
}

func taskStateList() string {
	names := make([]string, 0, len(tt.TaskStates()))
	for _, s := range tt.TaskStates() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

func unknownTemplate(p *tt.TaskListParams) error {
	switch {
	case p.Version != "":
		return &tt.NotFoundError{Kind: "template", Key: fmt.Sprintf("%s/%s@%s", p.Namespace, p.Name, p.Version)}
	case p.Name != "":
		return &tt.NotFoundError{Kind: "template", Key: p.Namespace + "/" + p.Name}
	}
	return &tt.NotFoundError{Kind: "namespace", Key: p.Namespace}
}

// Stats summarises the engine's state for operators: tasks by state, the
// open steps by state, the ready steps and the oldest one's wait, the
// recorded stuck work and the step throughput of the last p.Minutes
// minutes. One round trip; every part reads an index, never the history of
// finished steps.
func (e *Engine) Stats(ctx context.Context, p *tt.StatsParams) (*tt.OperationsStats, error) {
	if p == nil {
		return nil, tt.NewValidationError("stats", "", "parameters are required")
	}
	minutes := p.Minutes
	if minutes == 0 {
		minutes = tt.DefaultStatsMinutes
	}
	if minutes < 1 || minutes > tt.MaxStatsMinutes {
		return nil, tt.NewValidationError("stats", "minutes", "must be within 1..%d, got %d", tt.MaxStatsMinutes, p.Minutes)
	}
	snap, err := store.OperationsStats(ctx, e.pool, minutes)
	if err != nil {
		return nil, store.InterpretError("stats", err)
	}
	out := &tt.OperationsStats{
		GeneratedAt: snap.Ready.Now, Tasks: map[tt.TaskState]int64{}, OpenSteps: map[tt.StepState]int64{},
		ReadySteps: snap.Ready.Ready, OldestReadySeconds: snap.Ready.OldestSeconds, Stuck: map[tt.StuckKind]int64{},
	}
	for _, s := range tt.TaskStates() {
		out.Tasks[s] = snap.Tasks[s]
	}
	for _, s := range tt.StepStates() {
		out.OpenSteps[s] = snap.OpenSteps[s]
	}
	for _, k := range tt.StuckKinds() {
		out.Stuck[k] = snap.Stuck[k]
	}
	out.Throughput = minuteSeries(snap.Ready.Now, minutes, snap.Throughput)
	return out, nil
}

// minuteSeries gives every one of the last minutes minutes an entry, zero
// where nothing finished.
func minuteSeries(now time.Time, minutes int, counted []tt.MinuteThroughput) []tt.MinuteThroughput {
	byMinute := make(map[int64]tt.MinuteThroughput, len(counted))
	for _, c := range counted {
		byMinute[c.Minute.Unix()] = c
	}
	start := now.Truncate(time.Minute).Add(-time.Duration(minutes-1) * time.Minute)
	out := make([]tt.MinuteThroughput, minutes)
	for i := range out {
		m := start.Add(time.Duration(i) * time.Minute)
		c := byMinute[m.Unix()]
		out[i] = tt.MinuteThroughput{Minute: m.UTC(), Completed: c.Completed, Failed: c.Failed}
	}
	return out
}
