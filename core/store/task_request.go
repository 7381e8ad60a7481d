package store

import (
	"context"
	"time"

	"github.com/tasker-systems/tasker-core-go/core/store/internal/dbsqlc"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// TaskRequestInsert writes a task request (TaskRequest JSON) to the outbox,
// in db's transaction. The gem runs the same statement on the
// application's own connection.
func TaskRequestInsert(ctx context.Context, db DBTX, request []byte) (int64, error) {
	return queries.TaskRequestInsert(ctx, db, request)
}

// PendingTaskRequest is a pending request locked for the rest of the
// transaction.
type PendingTaskRequest struct {
	ID       int64
	Request  []byte
	Attempts int
}

// TaskRequestsLockPending locks up to limit pending requests, oldest first,
// skipping those another transaction holds.
func TaskRequestsLockPending(ctx context.Context, db DBTX, limit int) ([]PendingTaskRequest, error) {
	rows, err := queries.TaskRequestsLockPending(ctx, db, int32(limit))
	if err != nil {
		return nil, err
	}
	out := make([]PendingTaskRequest, len(rows))
	for i, r := range rows {
		out[i] = PendingTaskRequest{ID: r.TaskRequestID, Request: r.Request, Attempts: int(r.Attempts)}
	}
	return out, nil
}

// TaskRequestResolve marks a request created (it made taskID) or duplicate
// (taskID has its identity).
func TaskRequestResolve(ctx context.Context, db DBTX, id int64, status tt.TaskRequestState, taskID int64) error {
	return queries.TaskRequestResolve(ctx, db, dbsqlc.TaskRequestResolveParams{
		Status: string(status), TaskID: taskID, TaskRequestID: id,
	})
}

// TaskRequestFail marks a request failed with errJSON ({code, message,
// details}), counting the attempt.
func TaskRequestFail(ctx context.Context, db DBTX, id int64, errJSON []byte) error {
	return queries.TaskRequestFail(ctx, db, dbsqlc.TaskRequestFailParams{Error: errJSON, TaskRequestID: id})
}

// TaskRequestDefer records a transient error on a request that stays pending.
func TaskRequestDefer(ctx context.Context, db DBTX, id int64, errJSON []byte) error {
	return queries.TaskRequestDefer(ctx, db, dbsqlc.TaskRequestDeferParams{Error: errJSON, TaskRequestID: id})
}

// TaskRequestGet reads one request; a missing one is a NotFoundError.
func TaskRequestGet(ctx context.Context, db DBTX, id int64) (*tt.TaskRequestStatus, error) {
	r, err := queries.TaskRequestGet(ctx, db, id)
	if err != nil {
		return nil, notFound(err, "task_request", id)
	}
	return taskRequestStatus(dbsqlc.TaskRequestsListRow(r))
}

// TaskRequestsList reads a page of requests of one status (every status
// when status is empty), oldest first.
func TaskRequestsList(ctx context.Context, db DBTX, status tt.TaskRequestState, afterID int64, limit int) ([]tt.TaskRequestStatus, error) {
	rows, err := queries.TaskRequestsList(ctx, db, dbsqlc.TaskRequestsListParams{
		Status: string(status), AfterID: afterID, MaxRequests: int32(limit),
	})
	if err != nil {
		return nil, err
	}
	out := make([]tt.TaskRequestStatus, len(rows))
	for i, r := range rows {
		s, err := taskRequestStatus(r)
		if err != nil {
			return nil, err
		}
		out[i] = *s
	}
	return out, nil
}

func taskRequestStatus(r dbsqlc.TaskRequestsListRow) (*tt.TaskRequestStatus, error) {
	s := &tt.TaskRequestStatus{
		TaskRequestID: r.TaskRequestID, Status: tt.TaskRequestState(r.Status), Namespace: r.Namespace,
		Name: r.Name, Version: r.Version, Request: r.Request, TaskID: r.TaskID, Attempts: int(r.Attempts),
		RequestedAt: r.RequestedAt, ProcessedAt: r.ProcessedAt,
	}
	if r.Error != nil {
		s.Error = &tt.ErrorInfo{}
		if err := unmarshalJSON(r.Error, s.Error); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// TaskRequestLock locks a request and returns its status; a missing one is a
// NotFoundError.
func TaskRequestLock(ctx context.Context, db DBTX, id int64) (tt.TaskRequestState, error) {
	status, err := queries.TaskRequestLock(ctx, db, id)
	if err != nil {
		return "", notFound(err, "task_request", id)
	}
	return tt.TaskRequestState(status), nil
}

// TaskRequestRetry makes a request pending again with its attempts reset.
func TaskRequestRetry(ctx context.Context, db DBTX, id int64) error {
	return queries.TaskRequestRetry(ctx, db, id)
}

// TaskRequestsPrune deletes up to limit created or duplicate requests
// processed more than olderThan ago and returns how many it deleted.
func TaskRequestsPrune(ctx context.Context, db DBTX, olderThan time.Duration, limit int) (int64, error) {
	return queries.TaskRequestsPrune(ctx, db, dbsqlc.TaskRequestsPruneParams{
		OlderThanSeconds: olderThan.Seconds(), MaxRequests: int32(limit),
	})
}
