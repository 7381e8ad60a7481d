//go:build !tasker_release

package main

// Helpers for ffi's own tests and benchmarks: a _test.go file cannot use
// cgo, so these convert Go values to the C types the exports take. They add
// no exports, and release builds (-tags tasker_release, as the gem builds
// the library) leave them out.

// #include <stdint.h>
// #include <stdlib.h>
//
// extern int tasker_abi_version(void);
// extern int tasker_stats(uint64_t* out, char** err_out);
// extern int tasker_handle_free(uint64_t h, char** err_out);
// extern int tasker_handle_json(uint64_t h, char** out, int64_t* len_out, char** err_out);
// extern int tasker_debug_echo(char* kind, char* json, uint64_t* out, char** err_out);
// extern void tasker_string_free(char* s);
//
// // The benchmark loops run in C, so each iteration is a real C-to-Go call.
// static int bench_abi_version(int64_t n) {
// 	int sum = 0;
// 	for (int64_t i = 0; i < n; i++) sum += tasker_abi_version();
// 	return sum;
// }
// static int bench_handle(int64_t n) {
// 	for (int64_t i = 0; i < n; i++) {
// 		uint64_t h = 0;
// 		if (tasker_stats(&h, NULL) != 0 || tasker_handle_free(h, NULL) != 0) return 1;
// 	}
// 	return 0;
// }
// static int bench_roundtrip(int64_t n, char* kind, char* json) {
// 	for (int64_t i = 0; i < n; i++) {
// 		uint64_t h = 0; char* out = NULL; int64_t len = 0;
// 		if (tasker_debug_echo(kind, json, &h, NULL) != 0) return 1;
// 		if (tasker_handle_json(h, &out, &len, NULL) != 0) return 2;
// 		tasker_string_free(out);
// 		if (tasker_handle_free(h, NULL) != 0) return 3;
// 	}
// 	return 0;
// }
import "C"

import "unsafe"

// abiCall is what a test sees of one call: the status, the handle and the
// error JSON ("" on success).
type abiCall struct {
	rc      int
	handle  uint64
	errJSON string
}

// cstr returns a C copy of s (or NULL for nil) and its free function.
func cstr(s *string) (*C.char, func()) {
	if s == nil {
		return nil, func() {}
	}
	p := C.CString(*s)
	return p, func() { C.free(unsafe.Pointer(p)) }
}

func takeString(p *C.char) string {
	if p == nil {
		return ""
	}
	defer C.free(unsafe.Pointer(p))
	return C.GoString(p)
}

type jsonExport func(*C.char, C.int64_t, *C.uint64_t, **C.char) C.int
type idExport func(C.int64_t, C.int64_t, *C.uint64_t, **C.char) C.int

// callJSON calls a JSON-taking engine export; in == nil passes NULL.
func callJSON(fn jsonExport, in *string, timeoutMs int64) abiCall {
	p, free := cstr(in)
	defer free()
	var h C.uint64_t
	var e *C.char
	rc := fn(p, C.int64_t(timeoutMs), &h, &e)
	return abiCall{rc: int(rc), handle: uint64(h), errJSON: takeString(e)}
}

// callJSONNullOut calls fn with a NULL out-pointer.
func callJSONNullOut(fn jsonExport, in string) abiCall {
	p, free := cstr(&in)
	defer free()
	var e *C.char
	rc := fn(p, 0, nil, &e)
	return abiCall{rc: int(rc), errJSON: takeString(e)}
}

// callID calls an engine export taking a task id.
func callID(fn idExport, id, timeoutMs int64) abiCall {
	var h C.uint64_t
	var e *C.char
	rc := fn(C.int64_t(id), C.int64_t(timeoutMs), &h, &e)
	return abiCall{rc: int(rc), handle: uint64(h), errJSON: takeString(e)}
}

func callMigrate(timeoutMs int64) abiCall {
	var h C.uint64_t
	var e *C.char
	rc := tasker_migrate(C.int64_t(timeoutMs), &h, &e)
	return abiCall{rc: int(rc), handle: uint64(h), errJSON: takeString(e)}
}

func callInit(cfg *string) abiCall {
	p, free := cstr(cfg)
	defer free()
	var e *C.char
	rc := tasker_init(p, &e)
	return abiCall{rc: int(rc), errJSON: takeString(e)}
}

func callShutdown(timeoutMs int64) abiCall {
	var e *C.char
	rc := tasker_shutdown(C.int64_t(timeoutMs), &e)
	return abiCall{rc: int(rc), errJSON: takeString(e)}
}

func callPing(sleepMs, timeoutMs int64) abiCall {
	var e *C.char
	rc := tasker_ping(C.int64_t(sleepMs), C.int64_t(timeoutMs), &e)
	return abiCall{rc: int(rc), errJSON: takeString(e)}
}

func callHandleJSON(h uint64) (string, abiCall) {
	var out, e *C.char
	var n C.int64_t
	rc := tasker_handle_json(C.uint64_t(h), &out, &n, &e)
	s := takeString(out)
	if len(s) != int(n) {
		panic("tasker_handle_json: len_out does not match the string")
	}
	return s, abiCall{rc: int(rc), errJSON: takeString(e)}
}

func callHandleInt64(h uint64, field *string) (int64, abiCall) {
	p, free := cstr(field)
	defer free()
	var out C.int64_t
	var e *C.char
	rc := tasker_handle_int64(C.uint64_t(h), p, &out, &e)
	return int64(out), abiCall{rc: int(rc), errJSON: takeString(e)}
}

func callHandleKind(h uint64) (string, abiCall) {
	var out, e *C.char
	rc := tasker_handle_kind(C.uint64_t(h), &out, &e)
	return takeString(out), abiCall{rc: int(rc), errJSON: takeString(e)}
}

func callHandleFree(h uint64) abiCall {
	var e *C.char
	rc := tasker_handle_free(C.uint64_t(h), &e)
	return abiCall{rc: int(rc), errJSON: takeString(e)}
}

func callDebugPanic() abiCall {
	var e *C.char
	rc := tasker_debug_panic(&e)
	return abiCall{rc: int(rc), errJSON: takeString(e)}
}

func callDebugEcho(kind, in string) abiCall {
	k, freeK := cstr(&kind)
	defer freeK()
	p, freeP := cstr(&in)
	defer freeP()
	var h C.uint64_t
	var e *C.char
	rc := tasker_debug_echo(k, p, &h, &e)
	return abiCall{rc: int(rc), handle: uint64(h), errJSON: takeString(e)}
}

func callVersion() string {
	var out *C.char
	var n C.int64_t
	if tasker_version(&out, &n) != 0 {
		return ""
	}
	return takeString(out)
}

func callGoroutineDump() string {
	var out *C.char
	if tasker_goroutine_dump(&out, nil) != 0 {
		return ""
	}
	return takeString(out)
}

func callStats() abiCall {
	var h C.uint64_t
	var e *C.char
	rc := tasker_stats(&h, &e)
	return abiCall{rc: int(rc), handle: uint64(h), errJSON: takeString(e)}
}

func liveHandles() int64 { return int64(tasker_live_handles()) }

// The engine exports as values, for table-driven tests.
var (
	exportTemplateRegister = jsonExport(tasker_template_register)
	exportTaskInitialize   = jsonExport(tasker_task_initialize)
	exportStepClaim        = jsonExport(tasker_step_claim)
	exportStepClaimOne     = jsonExport(tasker_step_claim_one)
	exportAncestorResults  = jsonExport(tasker_step_ancestor_results)
	exportStepHeartbeat    = jsonExport(tasker_step_heartbeat)
	exportStepComplete     = jsonExport(tasker_step_complete)
	exportStepRelease      = jsonExport(tasker_step_release)
	exportStepFail         = jsonExport(tasker_step_fail)
	exportStepResolve      = jsonExport(tasker_step_resolve)
	exportTaskCancel       = jsonExport(tasker_task_cancel)
	exportTaskRetry        = jsonExport(tasker_task_retry)
	exportTaskPurge        = jsonExport(tasker_task_purge)
	exportTaskPurgeAll     = jsonExport(tasker_task_purge_all)
	exportTaskList         = jsonExport(tasker_task_list)
	exportOperationsStats  = jsonExport(tasker_operations_stats)
	exportStuckWork        = jsonExport(tasker_stuck_work)
	exportTaskStatus       = idExport(tasker_task_status)
	exportExecutionContext = idExport(tasker_task_execution_context)
	exportStepReadiness    = idExport(tasker_step_readiness)
	exportDependencyLevels = idExport(tasker_dependency_levels)
	exportTaskRequestGet   = idExport(tasker_task_request_get)
	exportTaskRequestRetry = idExport(tasker_task_request_retry)
	exportTaskRequestsList = jsonExport(tasker_task_requests_list)
	exportTaskRequestsTake = idExport(tasker_task_requests_take_up)
	exportTaskTransitions  = idExport(tasker_task_transitions)
)

// C-loop benchmarks: n real C-to-Go calls each.
func benchABIVersion(n int) int { return int(C.bench_abi_version(C.int64_t(n))) }
func benchHandle(n int) int     { return int(C.bench_handle(C.int64_t(n))) }
func benchRoundTrip(n int, kind, in string) int {
	k, freeK := cstr(&kind)
	defer freeK()
	p, freeP := cstr(&in)
	defer freeP()
	return int(C.bench_roundtrip(C.int64_t(n), k, p))
}
