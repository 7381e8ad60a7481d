package main

// #include <stdint.h>
import "C"

// Deleting tasks for good: test suites between examples, operators
// clearing old work. Part of the release build. bindings/ABI.md documents
// both after the operator actions.

//export tasker_task_purge
func tasker_task_purge(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodePurgeTasksParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.PurgeTasks(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_task_purge_all
func tasker_task_purge_all(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodePurgeAllTasksParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.PurgeAllTasks(ctx, p)
	return finish(out, err_out, res, err)
}
