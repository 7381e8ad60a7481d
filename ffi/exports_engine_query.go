package main

// #include <stdint.h>
import "C"

import "time"

// The read-only engine exports, taking a task id. Each: guard, prepareID,
// one engine call, finish.

//export tasker_task_status
func tasker_task_status(task_id C.int64_t, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, err := prepareID(timeout_ms, out, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.TaskStatus(ctx, int64(task_id))
	return finish(out, err_out, res, err)
}

//export tasker_task_execution_context
func tasker_task_execution_context(task_id C.int64_t, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, err := prepareID(timeout_ms, out, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.TaskExecutionContext(ctx, int64(task_id))
	return finish(out, err_out, res, err)
}

//export tasker_step_readiness
func tasker_step_readiness(task_id C.int64_t, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, err := prepareID(timeout_ms, out, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	steps, err := s.engine.StepReadiness(ctx, int64(task_id), nil)
	return finish(out, err_out, &ReadinessResult{Steps: nonNil(steps)}, err)
}

//export tasker_dependency_levels
func tasker_dependency_levels(task_id C.int64_t, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, err := prepareID(timeout_ms, out, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	levels, err := s.engine.DependencyLevels(ctx, int64(task_id))
	return finish(out, err_out, &DependencyLevelsResult{Levels: nonNil(levels)}, err)
}

//export tasker_task_transitions
func tasker_task_transitions(task_id C.int64_t, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, err := prepareID(timeout_ms, out, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.TaskTransitions(ctx, int64(task_id))
	return finish(out, err_out, res, err)
}

// nonNil makes an empty result encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

//export tasker_ping
func tasker_ping(sleep_ms C.int64_t, timeout_ms C.int64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	if err_out != nil {
		*err_out = nil
	}
	s, err := current()
	if err != nil {
		return fail(err_out, err)
	}
	ctx, cancel, err := s.withTimeout(timeout_ms)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	if err := s.engine.Ping(ctx, time.Duration(sleep_ms)*time.Millisecond); err != nil {
		return fail(err_out, err)
	}
	return rcOK
}
