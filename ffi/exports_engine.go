package main

// #include <stdint.h>
import "C"

// The engine exports that take JSON. Each: guard, prepare (out-pointer,
// engine, strict decode, deadline), one engine call, finish (handle or error
// code). bindings/ABI.md documents them in this order.

//export tasker_migrate
func tasker_migrate(timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, err := prepareID(timeout_ms, out, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.Migrate(ctx)
	return finish(out, err_out, res, err)
}

//export tasker_template_register
func tasker_template_register(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, spec, err := prepare(json, timeout_ms, out, err_out, decodeTemplateSpec)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.RegisterTemplate(ctx, spec)
	return finish(out, err_out, res, err)
}

//export tasker_task_initialize
func tasker_task_initialize(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, req, err := prepare(json, timeout_ms, out, err_out, decodeTaskRequest)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.InitializeTask(ctx, req)
	return finish(out, err_out, res, err)
}

//export tasker_step_claim
func tasker_step_claim(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeClaimParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.ClaimSteps(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_step_claim_one
func tasker_step_claim_one(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeClaimOneParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.ClaimStep(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_step_ancestor_results
func tasker_step_ancestor_results(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeAncestorResultsParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.AncestorResults(ctx, p)
	if err != nil {
		return fail(err_out, err)
	}
	return finish(out, err_out, &AncestorResults{StepID: p.StepID, Results: res}, nil)
}

//export tasker_step_heartbeat
func tasker_step_heartbeat(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeHeartbeatParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.Heartbeat(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_step_complete
func tasker_step_complete(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeCompleteParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.CompleteStep(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_step_release
func tasker_step_release(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeReleaseParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.ReleaseStep(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_step_fail
func tasker_step_fail(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeFailParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.FailStep(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_step_resolve
func tasker_step_resolve(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeResolveStepParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.ResolveStep(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_task_cancel
func tasker_task_cancel(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeCancelTaskParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.CancelTask(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_task_retry
func tasker_task_retry(json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, p, err := prepare(json, timeout_ms, out, err_out, decodeRetryTaskParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := s.engine.RetryTask(ctx, p)
	return finish(out, err_out, res, err)
}
