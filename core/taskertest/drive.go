package taskertest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// DriveTimeout is how long Drive waits for its tasks to finish.
const DriveTimeout = 30 * time.Second

// DriveWorkerID is the worker id Drive claims with.
const DriveWorkerID = "taskertest-driver"

// driveBatch is how many steps one of Drive's claims takes.
const driveBatch = 50

// Failure is a handler's failed attempt.
type Failure struct {
	Message string
	Class   string
	// Permanent sends the step to error whatever attempts it has left.
	Permanent bool
	// BackoffSeconds, when set, is the wait the handler asks for.
	BackoffSeconds *float64
}

// Handler runs one claimed step. It returns the step's results (any value
// that encodes to JSON; a json.RawMessage or []byte is taken as is), or a
// non-nil failure.
type Handler func(s tt.ClaimedStep) (results any, failure *Failure)

// Run is one handler run recorded by Drive.
type Run struct {
	// Batch numbers Drive's claims from 1: a step claimed in batch n was
	// ready when that claim ran, after every report of batches < n.
	Batch int
	Step  tt.ClaimedStep
	// Results are the JSON reported for a success, nil for a failure.
	Results json.RawMessage
	Failure *Failure
	// Outcome is the engine's answer to the report.
	Outcome *tt.StepResult
}

// Driven is what Drive did.
type Driven struct {
	// Runs counts the handler runs of each workflow step id.
	Runs map[int64]int
	// Log lists every run in order.
	Log []Run
	// Tasks holds each driven task's final status.
	Tasks map[int64]*tt.TaskStatus
}

// StepID returns the workflow step id of the named step of a driven task.
func (d *Driven) StepID(tb testing.TB, taskID int64, name string) int64 {
	tb.Helper()
	st, ok := d.Tasks[taskID]
	if !ok {
		tb.Fatalf("taskertest: task %d was not driven", taskID)
	}
	for _, s := range st.Steps {
		if s.Name == name {
			return s.WorkflowStepID
		}
	}
	tb.Fatalf("taskertest: task %d has no step %q", taskID, name)
	return 0
}

// RunsOf returns how many times the named step of a task ran.
func (d *Driven) RunsOf(tb testing.TB, taskID int64, name string) int {
	tb.Helper()
	return d.Runs[d.StepID(tb, taskID, name)]
}

// Step returns the final state of the named step of a driven task.
func (d *Driven) Step(tb testing.TB, taskID int64, name string) tt.WorkflowStep {
	tb.Helper()
	id := d.StepID(tb, taskID, name)
	for _, s := range d.Tasks[taskID].Steps {
		if s.WorkflowStepID == id {
			return s
		}
	}
	return tt.WorkflowStep{}
}

// RunsFor returns the runs of one workflow step, in order.
func (d *Driven) RunsFor(stepID int64) []Run {
	var out []Run
	for _, r := range d.Log {
		if r.Step.WorkflowStepID == stepID {
			out = append(out, r)
		}
	}
	return out
}

// TaskTerminal reports whether Drive stops waiting for a task in state s:
// complete, error, cancelled or resolved manually.
func TaskTerminal(s tt.TaskState) bool {
	switch s {
	case tt.TaskComplete, tt.TaskError, tt.TaskCancelled, tt.TaskResolvedManually:
		return true
	}
	return false
}

// Drive works the steps of namespace ns synchronously, as one worker: claim
// a batch, run the handler on each step, report it (CompleteStep or
// FailStep), and again, until every task of taskIDs is terminal (see
// TaskTerminal). When nothing is claimable but a task is not yet terminal (a
// step waits for its backoff), it sleeps briefly. It fails the test after
// DriveTimeout, or when the engine rejects a call.
//
// Drive claims any ready step of ns, not only those of taskIDs.
func Drive(tb testing.TB, e *engine.Engine, ns string, taskIDs []int64, h Handler) *Driven {
	tb.Helper()
	ctx := context.Background()
	d := &Driven{Runs: map[int64]int{}, Tasks: map[int64]*tt.TaskStatus{}}
	deadline := time.Now().Add(DriveTimeout)
	batch := 0
	for {
		claim, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: driveBatch, WorkerID: DriveWorkerID})
		if err != nil {
			tb.Fatalf("taskertest: drive: claim: %v", err)
		}
		if len(claim.Steps) > 0 {
			batch++
			for _, s := range claim.Steps {
				d.Log = append(d.Log, runOne(tb, e, batch, s, h))
				d.Runs[s.WorkflowStepID]++
			}
			continue
		}
		done := true
		var waiting []string
		for _, id := range taskIDs {
			st, err := e.TaskStatus(ctx, id)
			if err != nil {
				tb.Fatalf("taskertest: drive: status of task %d: %v", id, err)
			}
			d.Tasks[id] = st
			if !TaskTerminal(st.Status) {
				done = false
				waiting = append(waiting, describe(st))
			}
		}
		if done {
			return d
		}
		if time.Now().After(deadline) {
			tb.Fatalf("taskertest: drive: tasks not finished after %s:\n%s", DriveTimeout, strings.Join(waiting, "\n"))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func runOne(tb testing.TB, e *engine.Engine, batch int, s tt.ClaimedStep, h Handler) Run {
	tb.Helper()
	ctx := context.Background()
	run := Run{Batch: batch, Step: s}
	results, failure := h(s)
	var err error
	if failure != nil {
		run.Failure = failure
		run.Outcome, err = e.FailStep(ctx, &tt.FailParams{
			StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken,
			Error:     tt.StepFailure{Class: failure.Class, Message: failure.Message},
			Permanent: failure.Permanent, BackoffSeconds: failure.BackoffSeconds,
		})
		if err != nil {
			tb.Fatalf("taskertest: drive: fail step %s (%d): %v", s.StepName, s.WorkflowStepID, err)
		}
		return run
	}
	run.Results, err = toJSON(results)
	if err != nil {
		tb.Fatalf("taskertest: drive: encode results of %s: %v", s.StepName, err)
	}
	run.Outcome, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: run.Results})
	if err != nil {
		tb.Fatalf("taskertest: drive: complete step %s (%d): %v", s.StepName, s.WorkflowStepID, err)
	}
	return run
}

// toJSON encodes v, taking raw JSON as is.
func toJSON(v any) (json.RawMessage, error) {
	switch r := v.(type) {
	case json.RawMessage:
		return r, nil
	case []byte:
		return json.RawMessage(r), nil
	case nil:
		return json.RawMessage("null"), nil
	}
	return json.Marshal(v)
}

func describe(st *tt.TaskStatus) string {
	parts := make([]string, 0, len(st.Steps))
	for _, s := range st.Steps {
		parts = append(parts, fmt.Sprintf("%s=%s(attempts %d)", s.Name, s.Status, s.Attempts))
	}
	sort.Strings(parts)
	return fmt.Sprintf("task %d %s: %s", st.TaskID, st.Status, strings.Join(parts, " "))
}

// Succeed is a handler that completes every step with
// {"step": name, "task_id": id}.
func Succeed(s tt.ClaimedStep) (any, *Failure) {
	return map[string]any{"step": s.StepName, "task_id": s.TaskID}, nil
}

// FloatPtr returns a pointer to f, for Failure.BackoffSeconds.
func FloatPtr(f float64) *float64 { return &f }
