//go:build !tasker_release

package main

// #include <stdint.h>
import "C"

import tt "github.com/tasker-systems/tasker-core-go/core/taskertype"

// Diagnostics for tests and benchmarks of callers. Neither touches the
// database or any engine state.

//export tasker_debug_panic
func tasker_debug_panic(err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	panic("tasker_debug_panic: deliberate panic to test the recovery path")
}

//export tasker_debug_echo
func tasker_debug_echo(kind *C.char, json *C.char, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	if err_out != nil {
		*err_out = nil
	}
	if out == nil {
		return fail(err_out, nullArg("out"))
	}
	if kind == nil {
		return fail(err_out, nullArg("kind"))
	}
	*out = 0
	b, err := goBytes(json, "json")
	if err != nil {
		return fail(err_out, err)
	}
	v, err := echoDecode(C.GoString(kind), b)
	if err != nil {
		return fail(err_out, err)
	}
	*out = C.uint64_t(handles.put(v))
	return rcOK
}

// echoDecode decodes b strictly as the named input or result type.
func echoDecode(kind string, b []byte) (any, error) {
	switch kind {
	case "TemplateSpec":
		return decodeTemplateSpec(b)
	case "TaskRequest":
		return decodeTaskRequest(b)
	case "ClaimParams":
		return decodeClaimParams(b)
	case "CompleteParams":
		return decodeCompleteParams(b)
	case "FailParams":
		return decodeFailParams(b)
	case "ClaimResult":
		return decodeStrict[tt.ClaimResult]("debug_echo", b, maxDocumentDepth)
	case "TaskStatus":
		return decodeStrict[tt.TaskStatus]("debug_echo", b, maxDocumentDepth)
	}
	return nil, tt.NewValidationError("debug_echo", "kind",
		"must be one of TemplateSpec, TaskRequest, ClaimParams, CompleteParams, FailParams, ClaimResult, TaskStatus, got %q", kind)
}
