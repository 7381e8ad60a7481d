package main

import (
	"reflect"
	"slices"

	"github.com/goccy/go-json"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// ReadinessResult is what tasker_step_readiness hands out.
type ReadinessResult struct {
	Steps []tt.StepReadiness `json:"steps"`
}

// DependencyLevelsResult is what tasker_dependency_levels hands out.
type DependencyLevelsResult struct {
	Levels []tt.DependencyLevel `json:"levels"`
}

// AncestorResults is what tasker_step_ancestor_results hands out: the
// results of the ancestors asked for, by step name.
type AncestorResults struct {
	StepID  int64                      `json:"step_id"`
	Results map[string]json.RawMessage `json:"results"`
}

// Stats is what tasker_stats hands out: numbers for metrics, none of which
// needs the database.
type Stats struct {
	Initialized      bool   `json:"initialized"`
	LiveHandles      int64  `json:"live_handles"`
	Goroutines       int64  `json:"goroutines"`
	HeapAllocBytes   int64  `json:"heap_alloc_bytes"`
	GOMAXPROCS       int64  `json:"gomaxprocs"`
	MemoryLimit      int64  `json:"memory_limit_bytes"`
	PoolTotalConns   int64  `json:"pool_total_conns"`
	PoolIdleConns    int64  `json:"pool_idle_conns"`
	PoolAcquired     int64  `json:"pool_acquired_conns"`
	PoolMaxConns     int64  `json:"pool_max_conns"`
	GoVersion        string `json:"go_version"`
	ABIVersion       int64  `json:"abi_version"`
	LibraryVersion   string `json:"library_version"`
	PoolEmptyAcquire int64  `json:"pool_empty_acquire_count"`
}

// kindName is the type name tasker_handle_kind reports for a handle's object.
func kindName(v any) string {
	switch v.(type) {
	case *tt.MigrateResult:
		return "MigrateResult"
	case *tt.TemplateResult:
		return "TemplateResult"
	case *tt.InitializeResult:
		return "InitializeResult"
	case *tt.ClaimResult:
		return "ClaimResult"
	case *tt.ClaimedStep:
		return "ClaimedStep"
	case *tt.HeartbeatResult:
		return "HeartbeatResult"
	case *tt.StepResult:
		return "StepResult"
	case *tt.TaskStatus:
		return "TaskStatus"
	case *tt.TaskExecutionContext:
		return "TaskExecutionContext"
	case *ReadinessResult:
		return "ReadinessResult"
	case *DependencyLevelsResult:
		return "DependencyLevelsResult"
	case *AncestorResults:
		return "AncestorResults"
	case *tt.TaskRequestStatus:
		return "TaskRequestStatus"
	case *tt.TaskRequestList:
		return "TaskRequestList"
	case *tt.TaskRequestTakeUpResult:
		return "TaskRequestTakeUpResult"
	case *Stats:
		return "Stats"
	case *tt.PurgeResult:
		return "PurgeResult"
	case *tt.TaskList:
		return "TaskList"
	case *tt.OperationsStats:
		return "OperationsStats"
	case *tt.StuckReport:
		return "StuckReport"
	case *tt.TaskTransitions:
		return "TaskTransitions"
	}
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "nil"
	}
	return t.Name()
}

// int64Fielder is a result type that lists its own hot scalars (the
// dispatcher's, in dispatcher.go).
type int64Fielder interface{ int64Fields() map[string]int64 }

// int64Fields lists the hot scalars tasker_handle_int64 reads, by kind.
func int64Fields(v any) map[string]int64 {
	if f, ok := v.(int64Fielder); ok {
		return f.int64Fields()
	}
	switch r := v.(type) {
	case *tt.MigrateResult:
		return map[string]int64{"current_version": int64(r.CurrentVersion), "applied": int64(len(r.Applied))}
	case *tt.TemplateResult:
		return map[string]int64{"named_task_id": r.NamedTaskID, "step_count": int64(r.StepCount), "created": b2i(r.Created)}
	case *tt.InitializeResult:
		return map[string]int64{"task_id": r.TaskID, "step_count": int64(r.StepCount)}
	case *tt.ClaimResult:
		return map[string]int64{"count": int64(len(r.Steps))}
	case *tt.ClaimedStep:
		return map[string]int64{"workflow_step_id": r.WorkflowStepID, "task_id": r.TaskID, "attempts": int64(r.Attempts)}
	case *tt.HeartbeatResult:
		return map[string]int64{"step_id": r.StepID, "lease_expires_at_ms": r.LeaseExpiresAt.UnixMilli()}
	case *tt.StepResult:
		return map[string]int64{"workflow_step_id": r.WorkflowStepID, "task_id": r.TaskID, "attempts": int64(r.Attempts)}
	case *tt.TaskStatus:
		return map[string]int64{"task_id": r.TaskID, "complete": b2i(r.Complete), "step_count": int64(len(r.Steps))}
	case *tt.TaskExecutionContext:
		return map[string]int64{"task_id": r.TaskID, "total_steps": int64(r.TotalSteps), "ready_steps": int64(r.ReadySteps),
			"completed_steps": int64(r.CompletedSteps), "failed_steps": int64(r.FailedSteps)}
	case *ReadinessResult:
		return map[string]int64{"count": int64(len(r.Steps))}
	case *DependencyLevelsResult:
		return map[string]int64{"count": int64(len(r.Levels))}
	case *AncestorResults:
		return map[string]int64{"step_id": r.StepID, "count": int64(len(r.Results))}
	case *tt.PurgeResult:
		return map[string]int64{"purged_tasks": r.PurgedTasks, "purged_steps": r.PurgedSteps, "missing": int64(len(r.MissingTaskIDs))}
	case *tt.TaskRequestStatus:
		var taskID int64
		if r.TaskID != nil {
			taskID = *r.TaskID
		}
		return map[string]int64{"task_request_id": r.TaskRequestID, "task_id": taskID, "attempts": int64(r.Attempts)}
	case *tt.TaskRequestList:
		return map[string]int64{"count": int64(len(r.Requests))}
	case *tt.TaskRequestTakeUpResult:
		return map[string]int64{"count": int64(len(r.Requests)), "created": int64(r.Count(tt.TaskRequestCreated)),
			"failed": int64(r.Count(tt.TaskRequestFailed))}
	case *Stats:
		return map[string]int64{"live_handles": r.LiveHandles, "goroutines": r.Goroutines, "heap_alloc_bytes": r.HeapAllocBytes}
	case *tt.TaskList:
		next := int64(0)
		if r.NextBeforeTaskID != nil {
			next = *r.NextBeforeTaskID
		}
		return map[string]int64{"count": int64(len(r.Tasks)), "next_before_task_id": next}
	case *tt.OperationsStats:
		return map[string]int64{"ready_steps": r.ReadySteps}
	case *tt.StuckReport:
		return map[string]int64{"count": int64(len(r.Work))}
	case *tt.TaskTransitions:
		return map[string]int64{"task_id": r.TaskID, "task_count": int64(len(r.Task)), "step_count": int64(len(r.Steps)),
			"truncated": b2i(r.Truncated)}
	}
	return nil
}

// int64Field reads one hot scalar; a field the kind does not have is an
// abiError listing the ones it has.
func int64Field(v any, field string) (int64, error) {
	fields := int64Fields(v)
	if n, ok := fields[field]; ok {
		return n, nil
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	return 0, newABIError(map[string]any{"kind": kindName(v), "field": field, "fields": names},
		"%s has no int64 field %q; it has %v", kindName(v), field, names)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
