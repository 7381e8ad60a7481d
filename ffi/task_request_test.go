package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// writeRequest inserts a task request as an application does: on its own
// connection (here testPool), outside the library.
func writeRequest(t *testing.T, request string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, testPool.QueryRow(context.Background(),
		"INSERT INTO tasker_task_requests (request) VALUES ($1::json) RETURNING task_request_id", request).Scan(&id))
	return id
}

func requestStatus(t *testing.T, id int64) tt.TaskRequestStatus {
	t.Helper()
	c := callID(exportTaskRequestGet, id, 0)
	requireOK(t, c)
	kind, kc := callHandleKind(c.handle)
	requireOK(t, kc)
	require.Equal(t, "TaskRequestStatus", kind)
	var s tt.TaskRequestStatus
	handleJSON(t, c.handle, &s)
	return s
}

func TestTaskRequestExports(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	good := writeRequest(t, fmt.Sprintf(`{"namespace":%q,"name":"diamond","context":{"order":1}}`, ns))
	bad := writeRequest(t, fmt.Sprintf(`{"namespace":%q,"name":"missing","context":{}}`, ns))

	take := callID(exportTaskRequestsTake, 100, 0)
	requireOK(t, take)
	var round tt.TaskRequestTakeUpResult
	handleJSON(t, take.handle, &round)
	require.GreaterOrEqual(t, round.Count(tt.TaskRequestCreated), 1)

	created := requestStatus(t, good)
	require.Equal(t, tt.TaskRequestCreated, created.Status)
	require.Equal(t, ns, created.Namespace)
	st := callID(exportTaskStatus, *created.TaskID, 0)
	requireOK(t, st)
	requireOK(t, callHandleFree(st.handle))

	failed := requestStatus(t, bad)
	require.Equal(t, tt.TaskRequestFailed, failed.Status)
	require.Equal(t, tt.CodeNotFound, failed.Error.Code)

	list := callJSON(exportTaskRequestsList, ptr(fmt.Sprintf(`{"status":"failed","after_id":%d}`, bad-1)), 0)
	requireOK(t, list)
	var page tt.TaskRequestList
	handleJSON(t, list.handle, &page)
	require.NotEmpty(t, page.Requests)
	require.Equal(t, bad, page.Requests[0].TaskRequestID)

	requireErr(t, callID(exportTaskRequestRetry, good, 0), rcInvalidTransition, "invalid_transition", "task_request")
	retried := callID(exportTaskRequestRetry, bad, 0)
	requireOK(t, retried)
	var again tt.TaskRequestStatus
	handleJSON(t, retried.handle, &again)
	require.Equal(t, tt.TaskRequestPending, again.Status)

	requireErr(t, callID(exportTaskRequestGet, 0, 0), rcValidation, "validation", "task_request_id: must be a positive id")
	requireErr(t, callID(exportTaskRequestGet, 1<<50, 0), rcNotFound, "not_found", "task_request")
	requireErr(t, callID(exportTaskRequestsTake, 0, 0), rcValidation, "validation", "limit: must be within 1..1000")
	requireErr(t, callJSON(exportTaskRequestsList, ptr(`{"status":"gone"}`), 0), rcValidation, "validation", "status: must be one of")
	requireErr(t, callJSON(exportTaskRequestsList, ptr(`{"stauts":"failed"}`), 0), rcValidation, "validation", `unknown field "stauts"`)

	// Leave nothing pending for other tests' dispatchers to trip over.
	_, err := testPool.Exec(context.Background(), "DELETE FROM tasker_task_requests WHERE task_request_id = $1", bad)
	require.NoError(t, err)
}
