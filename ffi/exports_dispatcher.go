package main

// #include <stdint.h>
import "C"

import (
	"context"
	"errors"
	"unsafe"
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

// tasker_dispatcher_complete_next is tasker_dispatcher_complete for an
// executor that goes on to its next step: the outcome comes back as fixed
// int64 slots instead of a StepResult handle, and the step the flush claimed
// for this executor (if one is ready at once) comes back as ClaimedStep JSON
// in *next_out (NULL next_out: none is taken). It never waits for a step.
//
//export tasker_dispatcher_complete_next
func tasker_dispatcher_complete_next(h C.uint64_t, json *C.char, timeout_ms C.int64_t, outcome_out *C.int64_t,
	next_out **C.char, next_len_out *C.int64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	if next_out != nil {
		*next_out = nil
	}
	if next_len_out != nil {
		*next_len_out = 0
	}
	var outcome *[outcomeLen]C.int64_t
	if outcome_out != nil {
		outcome = (*[outcomeLen]C.int64_t)(unsafe.Pointer(outcome_out))
		*outcome = [outcomeLen]C.int64_t{}
	}
	d, ctx, cancel, p, err := prepareDispatcherCall(h, json, timeout_ms, "outcome_out", outcome != nil, err_out, decodeCompleteParams)
	if err != nil {
		return fail(err_out, err)
	}
	defer cancel()
	res, err := d.d.Complete(ctx, p)
	if err == nil && res == nil {
		err = errors.New("the dispatcher returned neither a result nor an error")
	}
	if err != nil {
		return fail(err_out, err)
	}
	o, err := outcomeOf(res)
	if err != nil {
		return fail(err_out, err) // before a step is taken: nothing is left handed out
	}
	if next_out != nil {
		b, state, err := d.takeReady()
		if err != nil {
			return fail(err_out, err)
		}
		o[outcomeNext] = state
		if b != nil {
			*next_out = cBytes(b)
			if next_len_out != nil {
				*next_len_out = C.int64_t(len(b))
			}
		}
	}
	*outcome = o
	return rcOK
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
	if out != nil {
		*out = 0
	}
	return prepareDispatcherCall(h, in, timeoutMs, "out", out != nil, errOut, decode)
}

// prepareDispatcherCall is prepareDispatcherJSON with the required
// out-pointer named (outName) and checked (outOK) by the caller.
func prepareDispatcherCall[P any](h C.uint64_t, in *C.char, timeoutMs C.int64_t, outName string, outOK bool, errOut **C.char,
	decode func([]byte) (P, error)) (*Dispatcher, context.Context, context.CancelFunc, P, error) {
	var p P
	d, err := lookupDispatcher(h, errOut)
	switch {
	case err != nil:
		return nil, nil, nil, p, err
	case !outOK:
		return nil, nil, nil, p, nullArg(outName)
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
