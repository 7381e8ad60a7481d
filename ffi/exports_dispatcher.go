package main

// #include <stdint.h>
import "C"

import (
	"context"
	"errors"
)

// The dispatcher exports: one worker's producer, completer, heartbeat and
// rescuer run inside the library (core/dispatcher); the caller's threads
// block in tasker_dispatcher_next and report through
// tasker_dispatcher_complete / tasker_dispatcher_fail. Each: guard, find the
// dispatcher behind the handle, decode strictly, deadline, one call, handle
// or error code. bindings/ABI.md documents them in this order.

//export tasker_dispatcher_start
func tasker_dispatcher_start(config_json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	s, ctx, cancel, cfg, err := prepare(config_json, timeout_ms, out, err_out, decodeDispatcherConfig)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	d, err := s.startDispatcher(ctx, cfg)
	return finish(out, err_out, d, err)
}

//export tasker_dispatcher_next
func tasker_dispatcher_next(h C.uint64_t, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	d, ctx, cancel, err := prepareDispatcher(h, timeout_ms, out, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	step, err := d.d.Next(ctx)
	if step == nil && (err == nil || errors.Is(err, context.DeadlineExceeded)) {
		return rcOK // nothing within timeout_ms: *out stays 0
	}
	return finish(out, err_out, step, err)
}

//export tasker_dispatcher_complete
func tasker_dispatcher_complete(h C.uint64_t, json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	d, ctx, cancel, p, err := prepareDispatcherJSON(h, json, timeout_ms, out, err_out, decodeCompleteParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := d.d.Complete(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_dispatcher_fail
func tasker_dispatcher_fail(h C.uint64_t, json *C.char, timeout_ms C.int64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	d, ctx, cancel, p, err := prepareDispatcherJSON(h, json, timeout_ms, out, err_out, decodeFailParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := d.d.Fail(ctx, p)
	return finish(out, err_out, res, err)
}

//export tasker_dispatcher_quiet
func tasker_dispatcher_quiet(h C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	d, err := lookupDispatcher(h, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	d.d.Quiet()
	return rcOK
}

//export tasker_dispatcher_stop
func tasker_dispatcher_stop(h C.uint64_t, timeout_ms C.int64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	d, err := lookupDispatcher(h, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	timeout, err := timeoutOf(timeout_ms, d.defaultTimeout)
	if err != nil {
		return fail(err_out, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := d.stop(ctx); err != nil {
		return fail(err_out, err) // a *dispatcher.ReleasedStepsError or a TimeoutError: code timeout
	}
	return rcOK
}

//export tasker_dispatcher_stats
func tasker_dispatcher_stats(h C.uint64_t, out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	d, err := lookupDispatcher(h, err_out)
	if err != nil {
		return fail(err_out, err)
	}
	if out == nil {
		return fail(err_out, nullArg("out"))
	}
	*out = C.uint64_t(handles.put(d.stats()))
	return rcOK
}

// lookupDispatcher clears *errOut and returns the dispatcher behind h.
func lookupDispatcher(h C.uint64_t, errOut **C.char) (*Dispatcher, error) {
	if errOut != nil {
		*errOut = nil
	}
	return dispatcherOf(uint64(h))
}

// prepareDispatcher is the common start of a dispatcher export with a
// handle out-param: it clears the out-params, finds the dispatcher, checks
// out and starts the call's deadline (timeout_ms; 0 is the default from
// tasker_init).
func prepareDispatcher(h C.uint64_t, timeoutMs C.int64_t, out *C.uint64_t, errOut **C.char) (*Dispatcher, context.Context, context.CancelFunc, error) {
	d, ctx, cancel, _, err := prepareDispatcherJSON[struct{}](h, nil, timeoutMs, out, errOut, nil)
	return d, ctx, cancel, err
}

// prepareDispatcherJSON is prepareDispatcher for exports that also take
// JSON, copied and decoded strictly before the deadline starts (decode nil:
// no JSON).
func prepareDispatcherJSON[P any](h C.uint64_t, in *C.char, timeoutMs C.int64_t, out *C.uint64_t, errOut **C.char,
	decode func([]byte) (P, error)) (*Dispatcher, context.Context, context.CancelFunc, P, error) {
	var p P
	d, err := lookupDispatcher(h, errOut)
	if out != nil {
		*out = 0
	}
	switch {
	case err != nil:
		return nil, nil, nil, p, err
	case out == nil:
		return nil, nil, nil, p, nullArg("out")
	}
	if decode != nil {
		b, err := goBytes(in, "json")
		if err != nil {
			return nil, nil, nil, p, err
		}
		if p, err = decode(b); err != nil {
			return nil, nil, nil, p, err
		}
	}
	timeout, err := timeoutOf(timeoutMs, d.defaultTimeout)
	if err != nil {
		return nil, nil, nil, p, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	return d, ctx, cancel, p, nil
}
