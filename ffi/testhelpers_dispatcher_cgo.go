//go:build !tasker_release

package main

// Helpers for the dispatcher exports' tests (see testhelpers_cgo.go).

// #include <stdint.h>
// #include <stdlib.h>
import "C"

import "unsafe"

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

// completeNextCall is what a test sees of tasker_dispatcher_complete_next.
type completeNextCall struct {
	abiCall
	outcome  [outcomeLen]int64
	next     string // the ClaimedStep JSON, "" when none
	nextLen  int64
	nextNULL bool // *next_out was left NULL
}

// callDispatcherCompleteNext calls tasker_dispatcher_complete_next; in ==
// nil passes NULL json, nullOutcome a NULL outcome_out, takeNext false a
// NULL next_out (and next_len_out). The outcome array is filled with -1
// first, to see what the call writes.
func callDispatcherCompleteNext(h uint64, in *string, timeoutMs int64, nullOutcome, takeNext bool) completeNextCall {
	p, free := cstr(in)
	defer free()
	var o [outcomeLen]C.int64_t
	for i := range o {
		o[i] = -1
	}
	op := &o[0]
	if nullOutcome {
		op = nil
	}
	sentinel := C.CString("sentinel") // *next_out must be overwritten (NULL or the step)
	defer C.free(unsafe.Pointer(sentinel))
	next := sentinel
	nextLen := C.int64_t(-1)
	np, lp := &next, &nextLen
	if !takeNext {
		np, lp = nil, nil
	}
	var e *C.char
	rc := tasker_dispatcher_complete_next(C.uint64_t(h), p, C.int64_t(timeoutMs), op, np, lp, &e)
	c := completeNextCall{abiCall: abiCall{rc: int(rc), errJSON: takeString(e)}, nextLen: int64(nextLen)}
	for i := range o {
		c.outcome[i] = int64(o[i])
	}
	if takeNext {
		c.nextNULL = next == nil
		switch {
		case next == sentinel:
			c.next = "<untouched>"
		case next != nil:
			c.next = takeString(next)
		}
	}
	return c
}
