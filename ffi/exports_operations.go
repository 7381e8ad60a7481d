package main

// #include <stdint.h>
import "C"

// The operations surface's exports (tasker-core list/stats/stuck, the
// dashboard, metrics): read-only, each taking JSON parameters. Each: guard,
// prepare, one engine call, finish.

//export tasker_task_list
func tasker_task_list(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeTaskListParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.ListTasks(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_operations_stats
func tasker_operations_stats(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeStatsParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.Stats(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_stuck_work
func tasker_stuck_work(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeStuckParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.StuckWork(ctx, p)
	return finish(out, err_out, res, err)
}
