// Package statemachine holds the one table of legal task and step state
// transitions, keyed by the event that makes them. The store's
// compare-and-set updates take their source states from it, and the
// database holds the same table (tasker_transition_rules, migration 005):
// the trigger that writes transition rows refuses any move it does not
// list, so no code path, SQL or Go, can write an illegal one. A test checks
// the two tables agree pair by pair.
package statemachine

import (
	"slices"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Event names a state change. It is the "event" of the transition row's
// metadata and the key of the table.
type Event string

// The events. Where one event may lead to more than one state (a failure
// goes to waiting_for_retry or error), the engine picks the target.
const (
	// A claim: a step's attempt starts, and its pending task starts with it.
	EventExecutionRequested Event = "execution_requested"
	// A report starts a task its claim skipped, or finalization walks a
	// task through in_progress.
	EventStartRequested Event = "start_requested"
	EventCompleted      Event = "completed"
	EventFailed         Event = "failed"
	// A worker stopped heartbeating: the attempt failed.
	EventLeaseExpired Event = "lease_expired"
	// A worker gives back a step it will not run; the attempt is given back.
	EventReleased         Event = "released"
	EventCancelled        Event = "cancelled"
	EventResolvedManually Event = "resolved_manually"
	// An operator retries a task in error (and its errored steps), or
	// finalization finds a task in error that can progress again.
	EventRetryRequested Event = "retry_requested"
)

type rule[S ~string] struct {
	from []S
	to   []S
}

var stepRules = map[Event]rule[tt.StepState]{
	EventExecutionRequested: {from: []tt.StepState{tt.StepPending, tt.StepWaitingForRetry}, to: []tt.StepState{tt.StepInProgress}},
	EventCompleted:          {from: []tt.StepState{tt.StepInProgress}, to: []tt.StepState{tt.StepComplete}},
	EventFailed:             {from: []tt.StepState{tt.StepInProgress}, to: []tt.StepState{tt.StepWaitingForRetry, tt.StepError}},
	EventLeaseExpired:       {from: []tt.StepState{tt.StepInProgress}, to: []tt.StepState{tt.StepWaitingForRetry, tt.StepError}},
	EventReleased:           {from: []tt.StepState{tt.StepInProgress}, to: []tt.StepState{tt.StepPending}},
	EventCancelled: {from: []tt.StepState{tt.StepPending, tt.StepInProgress, tt.StepWaitingForRetry},
		to: []tt.StepState{tt.StepCancelled}},
	EventResolvedManually: {from: []tt.StepState{tt.StepPending, tt.StepWaitingForRetry, tt.StepError},
		to: []tt.StepState{tt.StepResolvedManually}},
	EventRetryRequested: {from: []tt.StepState{tt.StepError}, to: []tt.StepState{tt.StepPending}},
}

var taskRules = map[Event]rule[tt.TaskState]{
	EventExecutionRequested: {from: []tt.TaskState{tt.TaskPending}, to: []tt.TaskState{tt.TaskInProgress}},
	EventStartRequested:     {from: []tt.TaskState{tt.TaskPending}, to: []tt.TaskState{tt.TaskInProgress}},
	EventCompleted:          {from: []tt.TaskState{tt.TaskInProgress}, to: []tt.TaskState{tt.TaskComplete}},
	EventFailed:             {from: []tt.TaskState{tt.TaskInProgress}, to: []tt.TaskState{tt.TaskError}},
	EventCancelled: {from: []tt.TaskState{tt.TaskPending, tt.TaskInProgress, tt.TaskError},
		to: []tt.TaskState{tt.TaskCancelled}},
	EventRetryRequested: {from: []tt.TaskState{tt.TaskError}, to: []tt.TaskState{tt.TaskPending}},
}

// StepSources returns the states a step may leave on ev, as strings for SQL
// `status = ANY($n)`.
func StepSources(ev Event) []string { return strings(stepRules[ev].from) }

// TaskSources returns the states a task may leave on ev.
func TaskSources(ev Event) []string { return strings(taskRules[ev].from) }

// CheckStep returns an InvalidTransitionError unless ev may move a step
// from one state to the other.
func CheckStep(id int64, ev Event, from, to tt.StepState) error {
	if r, ok := stepRules[ev]; ok && slices.Contains(r.from, from) && slices.Contains(r.to, to) {
		return nil
	}
	return &tt.InvalidTransitionError{Entity: "step", ID: id, From: string(from), To: string(to)}
}

// CheckTask returns an InvalidTransitionError unless ev may move a task
// from one state to the other.
func CheckTask(id int64, ev Event, from, to tt.TaskState) error {
	if r, ok := taskRules[ev]; ok && slices.Contains(r.from, from) && slices.Contains(r.to, to) {
		return nil
	}
	return &tt.InvalidTransitionError{Entity: "task", ID: id, From: string(from), To: string(to)}
}

// TaskAllowed reports whether some event moves a task from one state to the
// other.
func TaskAllowed(from, to tt.TaskState) bool {
	for _, r := range taskRules {
		if slices.Contains(r.from, from) && slices.Contains(r.to, to) {
			return true
		}
	}
	return false
}

// StepTerminal reports whether no event moves a step out of s.
func StepTerminal(s tt.StepState) bool {
	for _, r := range stepRules {
		if slices.Contains(r.from, s) {
			return false
		}
	}
	return true
}

// Rule is one legal move, as the database's tasker_transition_rules holds it.
type Rule struct {
	Entity string // "step" or "task"
	Event  Event
	From   string
	To     string
}

// Rules lists every legal move of steps and tasks.
func Rules() []Rule {
	var out []Rule
	for ev, r := range stepRules {
		out = appendRules(out, "step", ev, r)
	}
	for ev, r := range taskRules {
		out = appendRules(out, "task", ev, r)
	}
	return out
}

func appendRules[S ~string](out []Rule, entity string, ev Event, r rule[S]) []Rule {
	for _, from := range r.from {
		for _, to := range r.to {
			out = append(out, Rule{Entity: entity, Event: ev, From: string(from), To: string(to)})
		}
	}
	return out
}

func strings[S ~string](states []S) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}
