package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// tasker_task_purge through the ABI: the result, unknown ids named, a held
// task refused with its worker in details, and force.
func TestPurgeFlow(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	a := initializeTask(t, ns, `{"purge":"a"}`)
	b := initializeTask(t, ns, `{"purge":"b"}`)
	gone := int64(1) << 61

	c := callJSON(exportTaskPurge, ptr(fmt.Sprintf(`{"task_ids":[%d,%d]}`, a, gone)), 0)
	e := requireErr(t, c, rcNotFound, "not_found", fmt.Sprintf("no task %d, nothing was purged", gone))
	require.Equal(t, []any{float64(gone)}, e.Details["task_ids"])
	require.Equal(t, "task", e.Details["kind"])

	c = callJSON(exportTaskPurge, ptr(fmt.Sprintf(`{"task_ids":[%d,%d],"skip_missing":true}`, a, gone)), 0)
	requireOK(t, c)
	kind, kc := callHandleKind(c.handle)
	requireOK(t, kc)
	require.Equal(t, "PurgeResult", kind)
	n, ic := callHandleInt64(c.handle, ptr("purged_steps"))
	requireOK(t, ic)
	require.EqualValues(t, 4, n)
	var res tt.PurgeResult
	handleJSON(t, c.handle, &res)
	require.Equal(t, tt.PurgeResult{PurgedTasks: 1, PurgedSteps: 4, MissingTaskIDs: []int64{gone}}, res)
	requireErr(t, callID(exportTaskStatus, a, 0), rcNotFound, "not_found", "not found")

	claim := callJSON(exportStepClaim, ptr(fmt.Sprintf(`{"namespaces":[%q],"limit":1,"worker_id":"ffi-holder"}`, ns)), 0)
	requireOK(t, claim)
	requireOK(t, callHandleFree(claim.handle))
	c = callJSON(exportTaskPurge, ptr(fmt.Sprintf(`{"task_ids":[%d]}`, b)), 0)
	e = requireErr(t, c, rcConflict, "conflict", `claimed by "ffi-holder"`)
	require.EqualValues(t, 1, e.Details["held_count"])
	require.Equal(t, []any{float64(b)}, e.Details["task_ids"])
	c = callJSON(exportTaskPurge, ptr(fmt.Sprintf(`{"task_ids":[%d],"force":true}`, b)), 0)
	requireOK(t, c)
	requireOK(t, callHandleFree(c.handle))
	requireErr(t, callID(exportTaskStatus, b, 0), rcNotFound, "not_found", "not found")
}

// With lock_timeout_ms, a call blocked by another session's open
// transaction (a TRUNCATE inside a test's transaction) fails with code
// timeout, details.reason lock_timeout and the holding session named,
// instead of waiting for its deadline.
func TestLockTimeoutThroughTheABI(t *testing.T) {
	checkHandles(t)
	ctx := context.Background()
	requireOK(t, callShutdown(5000))
	requireOK(t, callInit(ptr(initConfigJSON(`,"lock_timeout_ms":200`))))
	t.Cleanup(func() {
		requireOK(t, callShutdown(5000))
		requireOK(t, callInit(ptr(initConfigJSON(""))))
	})
	ns := registerDiamond(t)

	app, err := pgx.Connect(ctx, testDBURL)
	require.NoError(t, err)
	defer app.Close(ctx)
	tx, err := app.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "TRUNCATE tasker_tasks CASCADE")
	require.NoError(t, err)

	c := callJSON(exportTaskInitialize, ptr(fmt.Sprintf(`{"namespace":%q,"name":"diamond","context":{}}`, ns)), 30_000)
	e := requireErr(t, c, rcTimeout, "timeout", "gave up waiting for a lock on tasker_* tables held by another transaction")
	require.Equal(t, "lock_timeout", e.Details["reason"])
	require.Contains(t, e.Message, "AccessExclusiveLock on tasker_tasks")
	require.Contains(t, e.Message, `"TRUNCATE tasker_tasks CASCADE"`)
	holders, _ := e.Details["holders"].([]any)
	require.Len(t, holders, 1, "%v", e.Details)
}
