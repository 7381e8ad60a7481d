// Package statemachine holds the one table of legal task and step state
// transitions. The store asks it which states may move into a target state and
// uses the answer in compare-and-set updates, so an illegal transition can
// never be written; a trigger then records every change as a transition row.
package statemachine

import (
	"slices"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// stepTransitions lists, for each step state, the states it may move to.
var stepTransitions = map[tt.StepState][]tt.StepState{
	tt.StepPending: {tt.StepInProgress, tt.StepCancelled, tt.StepResolvedManually, tt.StepError},
	// in_progress → pending is a worker releasing a step it will not run
	// (graceful shutdown); the claim's attempt is given back.
	tt.StepInProgress:       {tt.StepComplete, tt.StepWaitingForRetry, tt.StepError, tt.StepCancelled, tt.StepPending},
	tt.StepWaitingForRetry:  {tt.StepInProgress, tt.StepCancelled, tt.StepResolvedManually, tt.StepError},
	tt.StepError:            {tt.StepPending, tt.StepResolvedManually},
	tt.StepComplete:         {},
	tt.StepCancelled:        {},
	tt.StepResolvedManually: {},
}

// taskTransitions lists, for each task state, the states it may move to.
var taskTransitions = map[tt.TaskState][]tt.TaskState{
	tt.TaskPending:          {tt.TaskInProgress, tt.TaskCancelled, tt.TaskError},
	tt.TaskInProgress:       {tt.TaskComplete, tt.TaskError, tt.TaskCancelled, tt.TaskPending},
	tt.TaskError:            {tt.TaskPending, tt.TaskResolvedManually, tt.TaskCancelled},
	tt.TaskComplete:         {},
	tt.TaskCancelled:        {},
	tt.TaskResolvedManually: {},
}

// StepAllowed reports whether a step may move from one state to another.
func StepAllowed(from, to tt.StepState) bool { return slices.Contains(stepTransitions[from], to) }

// TaskAllowed reports whether a task may move from one state to another.
func TaskAllowed(from, to tt.TaskState) bool { return slices.Contains(taskTransitions[from], to) }

// StepSources returns every state a step may move to `to` from, as strings
// for use in SQL `status = ANY($n)`.
func StepSources(to tt.StepState) []string {
	var out []string
	for _, from := range tt.StepStates() {
		if StepAllowed(from, to) {
			out = append(out, string(from))
		}
	}
	return out
}

// TaskSources returns every state a task may move to `to` from.
func TaskSources(to tt.TaskState) []string {
	var out []string
	for _, from := range tt.TaskStates() {
		if TaskAllowed(from, to) {
			out = append(out, string(from))
		}
	}
	return out
}

// CheckStep returns an InvalidTransitionError when from → to is not allowed.
func CheckStep(id int64, from, to tt.StepState) error {
	if StepAllowed(from, to) {
		return nil
	}
	return &tt.InvalidTransitionError{Entity: "step", ID: id, From: string(from), To: string(to)}
}

// CheckTask returns an InvalidTransitionError when from → to is not allowed.
func CheckTask(id int64, from, to tt.TaskState) error {
	if TaskAllowed(from, to) {
		return nil
	}
	return &tt.InvalidTransitionError{Entity: "task", ID: id, From: string(from), To: string(to)}
}

// StepTerminal reports whether no transition leaves s.
func StepTerminal(s tt.StepState) bool { return len(stepTransitions[s]) == 0 }
