package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/jsondoc"
	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Task requests are initialize_task through an outbox: a caller inserts a
// row into tasker_task_requests inside its own transaction (so a rollback
// leaves nothing) and a dispatcher takes it up here. Each request is taken
// in a transaction that creates its task and marks it, so a request becomes
// at most one task; two takers skip each other's rows, and a taker that dies
// mid-way rolls back and leaves the request pending.

const (
	opTakeUp = "take_up_task_requests"
	// TaskRequestRetention is how long a request that became (or found) a
	// task is kept for lookups before PruneTaskRequests deletes it.
	TaskRequestRetention = 7 * 24 * time.Hour
)

// TakeUpTaskRequests turns up to limit pending task requests into tasks,
// oldest first, in one transaction. Per request, in a savepoint:
//   - the task is created as InitializeTask would: the request is created,
//     with the task's id;
//   - a task with the same identity exists (InitializeTask's duplicate): the
//     request is duplicate, with the existing task's id, and nothing else is
//     written;
//   - the request can never succeed as it stands (it does not decode, names
//     an unknown template, or its context breaks the template's schema: a
//     validation or not_found error): it is failed with that error, kept for
//     an operator (TaskRequests, RetryTaskRequest) and logged;
//   - any other error is counted in its attempts and it stays pending, until
//     the MaxTaskRequestAttempts-th, which fails it.
//
// A database error outside a request's savepoint (a lost connection) rolls
// the whole round back and is returned: nothing was taken.
func (e *Engine) TakeUpTaskRequests(ctx context.Context, limit int) (*tt.TaskRequestTakeUpResult, error) {
	if limit < 1 || limit > 1000 {
		return nil, tt.NewValidationError(opTakeUp, "limit", "must be within 1..1000, got %d", limit)
	}
	var res *tt.TaskRequestTakeUpResult
	err := store.InTx(ctx, e.pool, opTakeUp, func(tx pgx.Tx) error {
		res = &tt.TaskRequestTakeUpResult{Requests: []tt.TaskRequestOutcome{}}
		pending, err := store.TaskRequestsLockPending(ctx, tx, limit)
		if err != nil {
			return err
		}
		for _, r := range pending {
			out, err := e.takeUp(ctx, tx, r)
			if err != nil {
				return err
			}
			res.Requests = append(res.Requests, out)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.logTakeUp(res)
	return res, nil
}

// takeUp resolves one locked request; an error means the transaction is
// unusable (or the call was cancelled) and the round must roll back.
func (e *Engine) takeUp(ctx context.Context, tx pgx.Tx, r store.PendingTaskRequest) (tt.TaskRequestOutcome, error) {
	out := tt.TaskRequestOutcome{TaskRequestID: r.ID}
	res, reqErr, err := e.initializeInSavepoint(ctx, tx, r.Request)
	if err != nil {
		return out, err
	}
	var dup *tt.DuplicateTaskError
	switch {
	case reqErr == nil:
		out.Status, out.TaskID = tt.TaskRequestCreated, &res.TaskID
		return out, store.TaskRequestResolve(ctx, tx, r.ID, out.Status, res.TaskID)
	case errors.As(reqErr, &dup):
		out.Status, out.TaskID = tt.TaskRequestDuplicate, &dup.ExistingTaskID
		return out, store.TaskRequestResolve(ctx, tx, r.ID, out.Status, dup.ExistingTaskID)
	case ctx.Err() != nil:
		return out, reqErr // cancelled: not the request's fault, nothing counted
	}
	out.Error = tt.ErrorInfoOf(reqErr)
	errJSON, err := json.Marshal(out.Error)
	if err != nil {
		return out, err
	}
	code := out.Error.Code
	if code == tt.CodeValidation || code == tt.CodeNotFound || r.Attempts+1 >= tt.MaxTaskRequestAttempts {
		out.Status = tt.TaskRequestFailed
		return out, store.TaskRequestFail(ctx, tx, r.ID, errJSON)
	}
	out.Status = tt.TaskRequestPending
	return out, store.TaskRequestDefer(ctx, tx, r.ID, errJSON)
}

// initializeInSavepoint creates the task of a stored request in a savepoint
// of tx, released on success and rolled back on the request's error
// (reqErr). err is set only when tx itself failed.
func (e *Engine) initializeInSavepoint(ctx context.Context, tx pgx.Tx, stored []byte) (res *tt.InitializeResult, reqErr, err error) {
	req, reqErr := decodeStoredRequest(stored)
	if reqErr != nil {
		return nil, reqErr, nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	res, reqErr = e.initializeRecovered(ctx, sp, req)
	if reqErr == nil {
		return res, nil, sp.Commit(ctx)
	}
	return nil, reqErr, sp.Rollback(ctx)
}

// initializeRecovered turns a panic while creating one request's task into
// that request's internal error, so one bad request cannot crash-loop the
// take-up.
func (e *Engine) initializeRecovered(ctx context.Context, tx pgx.Tx, req *tt.TaskRequest) (res *tt.InitializeResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			e.cfg.Logger.Error("tasker engine: panic while creating a requested task", "panic", fmt.Sprint(r),
				"stack", string(debug.Stack()))
			err = fmt.Errorf("panic while creating the task: %v", r)
		}
	}()
	return e.initializeTaskTx(ctx, tx, req)
}

// decodeStoredRequest decodes a request as initialize_task's input is
// decoded: unknown or duplicate keys and wrong types are validation errors.
func decodeStoredRequest(b []byte) (*tt.TaskRequest, error) {
	var keyErr *jsondoc.KeyError
	if err := jsondoc.CheckKeys(b, reflect.TypeFor[tt.TaskRequest]()); errors.As(err, &keyErr) {
		return nil, tt.NewValidationError(opInitialize, keyErr.Path, "%s %q", keyErr.Problem, keyErr.Key)
	}
	req := new(tt.TaskRequest)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		return nil, tt.NewValidationError(opInitialize, "", "the stored request does not decode: %v", err)
	}
	return req, nil
}

func (e *Engine) logTakeUp(res *tt.TaskRequestTakeUpResult) {
	log := e.cfg.Logger
	for _, o := range res.Requests {
		switch o.Status {
		case tt.TaskRequestCreated:
			log.Debug("tasker engine: task request created its task", "task_request_id", o.TaskRequestID, "task_id", *o.TaskID)
		case tt.TaskRequestDuplicate:
			log.Info("tasker engine: task request matched an existing task's identity; no task created",
				"task_request_id", o.TaskRequestID, "existing_task_id", *o.TaskID)
		case tt.TaskRequestFailed:
			log.Warn("tasker engine: task request failed; kept with its error until retried",
				"task_request_id", o.TaskRequestID, "code", o.Error.Code, "error", o.Error.Message)
		default:
			log.Info("tasker engine: task request hit a transient error; it stays pending",
				"task_request_id", o.TaskRequestID, "code", o.Error.Code, "error", o.Error.Message)
		}
	}
}

// TaskRequest reads one task request; a missing one is a NotFoundError.
func (e *Engine) TaskRequest(ctx context.Context, id int64) (*tt.TaskRequestStatus, error) {
	if err := validateRequestID("task_request", id); err != nil {
		return nil, err
	}
	s, err := store.TaskRequestGet(ctx, e.pool, id)
	return s, store.InterpretError("task_request", err)
}

// TaskRequests lists task requests, oldest first (failed ones, for an
// operator: Status "failed").
func (e *Engine) TaskRequests(ctx context.Context, p *tt.TaskRequestListParams) (*tt.TaskRequestList, error) {
	const op = "task_requests"
	if p == nil {
		p = &tt.TaskRequestListParams{}
	}
	v := &tt.ValidationError{Op: op}
	if p.Status != "" && !p.Status.Valid() {
		v.Problems = append(v.Problems, tt.FieldError{Field: "status",
			Problem: fmt.Sprintf("must be one of %v, got %q", tt.TaskRequestStates(), p.Status)})
	}
	limit := p.Limit
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > 1000 {
		v.Problems = append(v.Problems, tt.FieldError{Field: "limit", Problem: fmt.Sprintf("must be within 1..1000, got %d", p.Limit)})
	}
	if p.AfterID < 0 {
		v.Problems = append(v.Problems, tt.FieldError{Field: "after_id", Problem: fmt.Sprintf("must be >= 0, got %d", p.AfterID)})
	}
	if len(v.Problems) > 0 {
		return nil, v
	}
	rows, err := store.TaskRequestsList(ctx, e.pool, p.Status, p.AfterID, limit)
	if err != nil {
		return nil, store.InterpretError(op, err)
	}
	return &tt.TaskRequestList{Requests: rows}, nil
}

// RetryTaskRequest makes a failed task request pending again (say, once its
// template is registered), its attempts reset; any other state is an
// InvalidTransitionError. The take-up is woken when it commits.
func (e *Engine) RetryTaskRequest(ctx context.Context, id int64) (*tt.TaskRequestStatus, error) {
	const op = "retry_task_request"
	if err := validateRequestID(op, id); err != nil {
		return nil, err
	}
	err := store.InTx(ctx, e.pool, op, func(tx pgx.Tx) error {
		status, err := store.TaskRequestLock(ctx, tx, id)
		if err != nil {
			return err
		}
		if status != tt.TaskRequestFailed {
			return &tt.InvalidTransitionError{Entity: "task_request", ID: id, From: string(status), To: string(tt.TaskRequestPending)}
		}
		return store.TaskRequestRetry(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	e.cfg.Logger.Info("tasker engine: task request retried", "task_request_id", id)
	return e.TaskRequest(ctx, id)
}

// PruneTaskRequests deletes up to limit requests that became (or found) a
// task more than olderThan ago, and returns how many it deleted. Failed and
// pending requests are never pruned.
func (e *Engine) PruneTaskRequests(ctx context.Context, olderThan time.Duration, limit int) (int64, error) {
	n, err := store.TaskRequestsPrune(ctx, e.pool, olderThan, limit)
	return n, store.InterpretError("prune_task_requests", err)
}

func validateRequestID(op string, id int64) error {
	if id < 1 {
		return tt.NewValidationError(op, "task_request_id", "must be a positive id, got %d", id)
	}
	return nil
}
