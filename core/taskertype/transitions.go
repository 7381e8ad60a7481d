package taskertype

import (
	"time"

	"github.com/goccy/go-json"
)

// MaxTransitions bounds the step transitions one TaskTransitions carries: a
// task of many steps retried many times keeps its most recent ones.
const MaxTransitions = 2000

// Transition is one state change of a task or of one of its steps, as its
// transition row records it.
type Transition struct {
	// WorkflowStepID and StepName name the step of a step transition (nil
	// and "" for the task's own).
	WorkflowStepID *int64  `json:"workflow_step_id"`
	StepName       string  `json:"step_name"`
	FromState      *string `json:"from_state"`
	ToState        string  `json:"to_state"`
	// Metadata is what the change recorded: attempts, and for a failed
	// attempt error_class and error_message; an operator's reason.
	Metadata  json.RawMessage `json:"metadata"`
	SortKey   int             `json:"sort_key"`
	CreatedAt time.Time       `json:"created_at"`
}

// TaskTransitions is a task's history: its own transitions and its steps',
// each oldest first. Truncated says the steps had more than MaxTransitions
// and only the most recent are here.
type TaskTransitions struct {
	TaskID    int64        `json:"task_id"`
	Task      []Transition `json:"task"`
	Steps     []Transition `json:"steps"`
	Truncated bool         `json:"truncated"`
}
