package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/goccy/go-json"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// rcByCode maps each error code to its status code.
var rcByCode = map[tt.Code]int{
	tt.CodeValidation:        rcValidation,
	tt.CodeNotFound:          rcNotFound,
	tt.CodeDuplicate:         rcDuplicate,
	tt.CodeConflict:          rcConflict,
	tt.CodeInvalidTransition: rcInvalidTransition,
	tt.CodeStaleClaim:        rcStaleClaim,
	tt.CodeNotReady:          rcNotReady,
	tt.CodeTimeout:           rcTimeout,
	tt.CodeDatabase:          rcDatabase,
	tt.CodeInternal:          rcInternal,
	tt.CodeABI:               rcABI,
	tt.CodeInvalidHandle:     rcInvalidHandle,
	tt.CodeNotInitialized:    rcNotInitialized,
	tt.CodeShutdown:          rcShutdown,
}

// errorJSON is the error object every failing call hands out.
type errorJSON struct {
	Code    tt.Code        `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

// describe turns any error into its status code and error JSON. It is the one
// place that decides what an error means at the ABI.
func describe(err error) (int, []byte) {
	e := errorJSON{Code: tt.CodeInternal, Message: err.Error(), Details: map[string]any{}}
	var coded tt.Coded
	switch {
	case errors.Is(err, dispatcher.ErrStopped):
		e.Code = tt.CodeShutdown
	case errors.As(err, &coded):
		e.Code = coded.Code()
		if d := coded.Details(); d != nil {
			e.Details = d
		}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		e.Code = tt.CodeTimeout
	}
	rc, ok := rcByCode[e.Code]
	if !ok {
		rc, e.Details["unknown_code"] = rcInternal, string(e.Code)
		e.Code = tt.CodeInternal
	}
	b, mErr := json.Marshal(e)
	if mErr != nil {
		b = fmt.Appendf(nil, `{"code":"internal","message":%q,"details":{}}`, "encode error: "+mErr.Error())
		rc = rcInternal
	}
	return rc, b
}

// abiError is a misuse of the ABI itself: a NULL pointer where one is
// required, or an accessor on the wrong kind of handle.
type abiError struct {
	msg     string
	details map[string]any
}

func newABIError(details map[string]any, format string, args ...any) *abiError {
	if details == nil {
		details = map[string]any{}
	}
	return &abiError{msg: fmt.Sprintf(format, args...), details: details}
}

func (e *abiError) Error() string           { return e.msg }
func (e *abiError) Code() tt.Code           { return tt.CodeABI }
func (e *abiError) Details() map[string]any { return e.details }

// nullArg reports a required pointer argument that was NULL.
func nullArg(name string) error {
	return newABIError(map[string]any{"argument": name}, "%s must not be NULL", name)
}

// invalidHandleError is a handle that is not live: never issued, or freed.
type invalidHandleError struct{ handle uint64 }

func (e *invalidHandleError) Error() string {
	return fmt.Sprintf("handle %d is not live: it was never issued or has already been freed", e.handle)
}
func (e *invalidHandleError) Code() tt.Code           { return tt.CodeInvalidHandle }
func (e *invalidHandleError) Details() map[string]any { return map[string]any{"handle": e.handle} }

// notInitializedError is any engine call before tasker_init or after
// tasker_shutdown.
type notInitializedError struct{}

func (notInitializedError) Error() string {
	return "tasker-core is not initialized: call tasker_init(config_json) first (or again after tasker_shutdown)"
}
func (notInitializedError) Code() tt.Code           { return tt.CodeNotInitialized }
func (notInitializedError) Details() map[string]any { return map[string]any{} }

// panicError is a recovered panic, reported as internal with its stack.
type panicError struct {
	value any
	stack string
}

func (e *panicError) Error() string {
	return fmt.Sprintf("internal error (recovered panic): %v; please report it with details.stack", e.value)
}
func (e *panicError) Code() tt.Code { return tt.CodeInternal }
func (e *panicError) Details() map[string]any {
	return map[string]any{"panic": fmt.Sprint(e.value), "stack": e.stack}
}
