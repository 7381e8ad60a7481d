package taskertype

import (
	"fmt"
	"strings"
	"time"
)

// MaxPurgeTaskIDs caps the ids one PurgeTasks call takes, so one call's
// transaction (and the array it sends) stays bounded; callers purge more in
// several calls.
const MaxPurgeTaskIDs = 10_000

// PurgeTasksParams deletes tasks for good: each with its steps, their
// dependency edges, every transition row and every result. Nothing of a
// purged task is left, so its identity may be used again.
type PurgeTasksParams struct {
	// TaskIDs names the tasks: 1..MaxPurgeTaskIDs ids, each > 0; an id given
	// twice counts once.
	TaskIDs []int64 `json:"task_ids"`
	// SkipMissing purges the tasks that exist and lists the other ids in
	// PurgeResult.MissingTaskIDs. Without it, an id that names no task is a
	// TasksNotFoundError and nothing is purged.
	SkipMissing bool `json:"skip_missing,omitempty"`
	// Force purges tasks even when a worker holds one of their steps (a live
	// lease); that worker's report is then refused. Without it such tasks
	// are a TasksHeldError and nothing is purged.
	Force bool `json:"force,omitempty"`
}

// PurgeAllTasksParams deletes every task of the database, as PurgeTasks
// does for named ones. Templates (named tasks, their steps and namespaces)
// stay registered.
type PurgeAllTasksParams struct {
	// Force: as PurgeTasksParams.Force.
	Force bool `json:"force,omitempty"`
}

// PurgeResult says what a purge deleted.
type PurgeResult struct {
	// PurgedTasks and PurgedSteps count the rows deleted.
	PurgedTasks int64 `json:"purged_tasks"`
	PurgedSteps int64 `json:"purged_steps"`
	// MissingTaskIDs lists the ids that named no task (with SkipMissing),
	// in ascending order; empty otherwise.
	MissingTaskIDs []int64 `json:"missing_task_ids"`
}

// HeldStep is a step a worker holds: claimed, its lease not yet expired.
type HeldStep struct {
	TaskID         int64     `json:"task_id"`
	StepID         int64     `json:"step_id"`
	StepName       string    `json:"step_name"`
	ClaimedBy      string    `json:"claimed_by"`
	LeaseExpiresAt time.Time `json:"lease_expires_at"`
}

// TasksHeldError refuses a purge of tasks a worker is running: their steps
// are claimed under live leases. Nothing was purged.
type TasksHeldError struct {
	Op string
	// Held lists held steps (at most maxListed of them); Count is how many
	// there are in all.
	Held  []HeldStep
	Count int
}

func (e *TasksHeldError) Error() string {
	parts := make([]string, len(e.Held))
	for i, h := range e.Held {
		parts[i] = fmt.Sprintf("task %d step %q (%d) claimed by %q until %s", h.TaskID, h.StepName, h.StepID,
			h.ClaimedBy, h.LeaseExpiresAt.UTC().Format(time.RFC3339))
	}
	more := ""
	if e.Count > len(e.Held) {
		more = fmt.Sprintf(" and %d more", e.Count-len(e.Held))
	}
	steps := "steps are"
	if e.Count == 1 {
		steps = "step is"
	}
	return fmt.Sprintf("%s: %d %s held by a worker, nothing was purged: %s%s; stop the worker "+
		"(or let its steps finish) first, or purge with force (the worker's reports are then refused)",
		e.Op, e.Count, steps, strings.Join(parts, "; "), more)
}
func (e *TasksHeldError) Code() Code { return CodeConflict }
func (e *TasksHeldError) Details() map[string]any {
	ids := make([]int64, 0, len(e.Held))
	for _, h := range e.Held {
		if len(ids) == 0 || ids[len(ids)-1] != h.TaskID {
			ids = append(ids, h.TaskID)
		}
	}
	return map[string]any{"op": e.Op, "held": e.Held, "held_count": e.Count, "task_ids": ids}
}

// TasksNotFoundError names the ids of a purge that named no task. Nothing
// was purged.
type TasksNotFoundError struct {
	Op  string
	IDs []int64
}

func (e *TasksNotFoundError) Error() string {
	return fmt.Sprintf("%s: no task %s, nothing was purged (skip_missing purges the others)", e.Op, listIDs(e.IDs))
}
func (e *TasksNotFoundError) Code() Code    { return CodeNotFound }
func (e *TasksNotFoundError) Unwrap() error { return ErrNotFound }
func (e *TasksNotFoundError) Details() map[string]any {
	key := ""
	if len(e.IDs) > 0 {
		key = fmt.Sprint(e.IDs[0])
	}
	return map[string]any{"op": e.Op, "kind": "task", "key": key, "task_ids": e.IDs}
}

// listIDs writes ids as "3, 7 and 9", the first 20 of them.
func listIDs(ids []int64) string {
	const shown = 20
	parts := make([]string, 0, min(len(ids), shown))
	for _, id := range ids[:min(len(ids), shown)] {
		parts = append(parts, fmt.Sprint(id))
	}
	switch {
	case len(ids) > shown:
		return strings.Join(parts, ", ") + fmt.Sprintf(" and %d more", len(ids)-shown)
	case len(parts) > 1:
		return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
	}
	return strings.Join(parts, "")
}
