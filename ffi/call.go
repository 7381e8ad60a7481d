package main

// #include <stdint.h>
// #include <stdlib.h>
// #include <string.h>
import "C"

import (
	"context"
	"errors"
	"runtime/debug"
	"time"
	"unsafe"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// guard is deferred first by every export that returns a status: it turns a
// panic into TASKER_ERR_INTERNAL with the stack in details, so the host
// process lives on. It must be the deferred function itself for recover to
// work.
func guard(rc *C.int, errOut **C.char) {
	if r := recover(); r != nil {
		*rc = fail(errOut, &panicError{value: r, stack: string(debug.Stack())})
	}
}

// fail writes err's JSON to *errOut (when errOut is not NULL) and returns its
// status code.
func fail(errOut **C.char, err error) C.int {
	rc, b := describe(explainLockTimeout(err))
	if errOut != nil {
		*errOut = cBytes(b)
	}
	return C.int(rc)
}

// cBytes copies b into malloc'd, NUL-terminated memory the caller frees with
// tasker_string_free.
func cBytes(b []byte) *C.char {
	p := (*C.char)(C.malloc(C.size_t(len(b) + 1)))
	if p == nil {
		panic("malloc failed")
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(p)), len(b)+1)
	copy(dst, b)
	dst[len(b)] = 0
	return p
}

// goBytes copies a caller's NUL-terminated string. It reads at most one
// byte past the size limit, so an unterminated buffer is not scanned to the
// end of memory.
func goBytes(p *C.char, arg string) ([]byte, error) {
	if p == nil {
		return nil, nullArg(arg)
	}
	n := C.strnlen(p, maxInputBytes+1)
	if n > maxInputBytes {
		return nil, tt.NewValidationError("", arg, "input is larger than the limit of %d bytes (64 MiB)", maxInputBytes)
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n)), nil
}

// prepare is the common start of an engine export taking JSON: it checks
// the out-pointer, clears the out-params, finds the engine, copies and
// decodes the input strictly and starts the call's deadline.
func prepare[P any](in *C.char, timeoutMs C.int64_t, out *C.uint64_t, errOut **C.char,
	decode func([]byte) (P, error)) (*engineState, context.Context, context.CancelFunc, P, error) {
	var zero P
	s, err := begin(out, errOut)
	if err != nil {
		return nil, nil, nil, zero, err
	}
	b, err := goBytes(in, "json")
	if err != nil {
		return nil, nil, nil, zero, err
	}
	p, err := decode(b)
	if err != nil {
		return nil, nil, nil, zero, err
	}
	ctx, cancel, err := s.withTimeout(timeoutMs)
	return s, ctx, cancel, p, err
}

// prepareID is prepare for exports taking an id instead of JSON; the engine
// validates the id.
func prepareID(timeoutMs C.int64_t, out *C.uint64_t, errOut **C.char) (*engineState, context.Context, context.CancelFunc, error) {
	s, err := begin(out, errOut)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel, err := s.withTimeout(timeoutMs)
	return s, ctx, cancel, err
}

func begin(out *C.uint64_t, errOut **C.char) (*engineState, error) {
	if errOut != nil {
		*errOut = nil
	}
	if out == nil {
		return nil, nullArg("out")
	}
	*out = 0
	return current()
}

// withTimeout starts a call's deadline: timeout_ms, or the default from
// tasker_init when it is 0.
func (s *engineState) withTimeout(ms C.int64_t) (context.Context, context.CancelFunc, error) {
	d, err := timeoutOf(ms, s.defaultTimeout)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	return ctx, cancel, nil
}

func timeoutOf(ms C.int64_t, def time.Duration) (time.Duration, error) {
	switch {
	case ms == 0:
		return def, nil
	case ms < 0 || int64(ms) > maxTimeout.Milliseconds():
		return 0, tt.NewValidationError("", "timeout_ms", "must be within 0..%d (0 means the default), got %d", maxTimeout.Milliseconds(), int64(ms))
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// finish ends an engine export: an error becomes its code, a result a
// handle in *out.
func finish[R any](out *C.uint64_t, errOut **C.char, res *R, err error) C.int {
	if err != nil {
		return fail(errOut, err)
	}
	if res == nil {
		return fail(errOut, errors.New("the engine returned neither a result nor an error"))
	}
	*out = C.uint64_t(handles.put(res))
	return rcOK
}
