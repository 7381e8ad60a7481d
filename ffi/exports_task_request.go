package main

// #include <stdint.h>
import "C"

// The task request (outbox) exports. Requests are written by the caller on
// its own database connection, inside its own transaction (the gem's
// TaskerCore.request_task): there is no export that writes one, since a
// write on the library's pool could not join that transaction. These read,
// retry and take requests up.

//export tasker_task_request_get
func tasker_task_request_get(task_request_id C.int64_t, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, err := prepareID(timeout_ms, out, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.TaskRequest(ctx, int64(task_request_id))
	return finish(out, err_out, res, err)
}

//export tasker_task_request_retry
func tasker_task_request_retry(task_request_id C.int64_t, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, err := prepareID(timeout_ms, out, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.RetryTaskRequest(ctx, int64(task_request_id))
	return finish(out, err_out, res, err)
}

//export tasker_task_requests_list
func tasker_task_requests_list(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeTaskRequestListParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.TaskRequests(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_task_requests_take_up
func tasker_task_requests_take_up(limit C.int64_t, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, err := prepareID(timeout_ms, out, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.TakeUpTaskRequests(ctx, int(limit))
	return finish(out, err_out, res, err)
}
