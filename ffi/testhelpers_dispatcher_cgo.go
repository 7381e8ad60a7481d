package main

// Helpers for the dispatcher exports' tests (see testhelpers_cgo.go).

// #include <stdint.h>
import "C"

// The dispatcher exports.

func callDispatcherStart(cfg *string, timeoutMs int64) abiCall {
	return callJSON(tasker_dispatcher_start, cfg, timeoutMs)
}

func callDispatcherNext(h uint64, timeoutMs int64) abiCall {
	var out C.uint64_t
	var e *C.char
	rc := tasker_dispatcher_next(C.uint64_t(h), C.int64_t(timeoutMs), &out, &e)
	return abiCall{rc: int(rc), handle: uint64(out), errJSON: takeString(e)}
}

type dispatcherReport func(C.uint64_t, *C.char, C.int64_t, *C.uint64_t, **C.char) C.int

var (
	exportDispatcherComplete = dispatcherReport(tasker_dispatcher_complete)
	exportDispatcherFail     = dispatcherReport(tasker_dispatcher_fail)
)

// callDispatcherReport calls tasker_dispatcher_complete or _fail; in == nil
// passes NULL, nullOut a NULL out-pointer.
func callDispatcherReport(fn dispatcherReport, h uint64, in *string, timeoutMs int64, nullOut bool) abiCall {
	p, free := cstr(in)
	defer free()
	var out C.uint64_t
	outp := &out
	if nullOut {
		outp = nil
	}
	var e *C.char
	rc := fn(C.uint64_t(h), p, C.int64_t(timeoutMs), outp, &e)
	return abiCall{rc: int(rc), handle: uint64(out), errJSON: takeString(e)}
}

func callDispatcherQuiet(h uint64) abiCall {
	var e *C.char
	rc := tasker_dispatcher_quiet(C.uint64_t(h), &e)
	return abiCall{rc: int(rc), errJSON: takeString(e)}
}

func callDispatcherStop(h uint64, timeoutMs int64) abiCall {
	var e *C.char
	rc := tasker_dispatcher_stop(C.uint64_t(h), C.int64_t(timeoutMs), &e)
	return abiCall{rc: int(rc), errJSON: takeString(e)}
}

func callDispatcherStats(h uint64, nullOut bool) abiCall {
	var out C.uint64_t
	outp := &out
	if nullOut {
		outp = nil
	}
	var e *C.char
	rc := tasker_dispatcher_stats(C.uint64_t(h), outp, &e)
	return abiCall{rc: int(rc), handle: uint64(out), errJSON: takeString(e)}
}
