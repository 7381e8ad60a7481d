package store

import (
	"context"
	"slices"

	"github.com/goccy/go-json"

	"github.com/tasker-systems/tasker-core-go/core/store/internal/dbsqlc"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// TaskTransitions reads a task's transition rows and its steps', each list
// oldest first; of the steps' rows only the newest tt.MaxTransitions are
// kept (Truncated then). The caller has checked that the task exists.
func TaskTransitions(ctx context.Context, db DBTX, taskID int64) (*tt.TaskTransitions, error) {
	taskRows, err := queries.TaskTransitionsForTask(ctx, db, dbsqlc.TaskTransitionsForTaskParams{
		TaskID: taskID, MaxRows: tt.MaxTransitions,
	})
	if err != nil {
		return nil, err
	}
	stepRows, err := queries.StepTransitionsForTask(ctx, db, dbsqlc.StepTransitionsForTaskParams{
		TaskID: taskID, MaxRows: tt.MaxTransitions + 1,
	})
	if err != nil {
		return nil, err
	}
	out := &tt.TaskTransitions{TaskID: taskID, Task: make([]tt.Transition, len(taskRows)), Truncated: len(stepRows) > tt.MaxTransitions}
	for i, r := range taskRows {
		out.Task[i] = tt.Transition{FromState: r.FromState, ToState: r.ToState, Metadata: json.RawMessage(r.Metadata),
			SortKey: int(r.SortKey), CreatedAt: r.CreatedAt}
	}
	stepRows = stepRows[:min(len(stepRows), tt.MaxTransitions)]
	slices.Reverse(stepRows) // newest first from the query, so a cut keeps the latest
	out.Steps = make([]tt.Transition, len(stepRows))
	for i, r := range stepRows {
		id := r.WorkflowStepID
		out.Steps[i] = tt.Transition{WorkflowStepID: &id, StepName: r.StepName, FromState: r.FromState, ToState: r.ToState,
			Metadata: json.RawMessage(r.Metadata), SortKey: int(r.SortKey), CreatedAt: r.CreatedAt}
	}
	return out, nil
}
