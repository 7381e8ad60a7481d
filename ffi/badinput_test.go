package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// TestRejectedInputs sends bad JSON through the ABI: each is a validation
// error naming the field, hands out no handle and writes nothing.
func TestRejectedInputs(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	task := func(extra string) string {
		return fmt.Sprintf(`{"namespace":%q,"name":"diamond","context":{"k":1}%s}`, ns, extra)
	}
	cases := []struct {
		name   string
		fn     jsonExport
		in     string
		field  string
		inText string
	}{
		{"empty string", exportTaskInitialize, ``, "", "input is empty"},
		{"only spaces", exportTaskInitialize, "  \n ", "", "input is empty"},
		{"malformed", exportTaskInitialize, `{"namespace":`, "", "malformed JSON"},
		{"not an object", exportTaskInitialize, `[1,2]`, "", "expected a JSON object, got array"},
		{"null", exportTaskInitialize, `null`, "", "expected a JSON object, got null"},
		{"trailing data", exportTaskInitialize, task("") + ` {}`, "", "unexpected data after the JSON object"},
		{"invalid utf-8", exportTaskInitialize, fmt.Sprintf(`{"namespace":%q,"name":"diamond","context":{"k":"`, ns) + "\xff\xfe" + `"}}`, "", "not valid UTF-8"},
		{"wrong type", exportTaskInitialize, fmt.Sprintf(`{"namespace":%q,"name":7,"context":{}}`, ns), "name", "expected string, got number"},
		{"wrong nested type", exportTemplateRegister, `{"namespace":"x","name":"y","version":"1","steps":[{"name":"a","handler":"A","retry_limit":"3"}]}`, "steps[0].retry_limit", "expected integer, got string"},
		{"fraction for integer", exportStepClaim, `{"limit":1.5,"worker_id":"w"}`, "limit", "expected integer, got number 1.5"},
		{"array for string", exportTemplateRegister, `{"namespace":"x","name":"y","version":"1","steps":[{"name":"a","handler":"A","depends_on":[1]}]}`, "steps[0].depends_on[0]", "expected string, got number"},
		{"unknown key", exportTaskInitialize, task(`,"bogus":1`), "bogus", `unknown field "bogus"`},
		{"unknown nested key", exportTemplateRegister, `{"namespace":"x","name":"y","version":"1","steps":[{"name":"a","handler":"A"},{"name":"b","handler":"B","retries":3}]}`, "steps[1].retries", `unknown field "retries"`},
		{"key in the wrong case after an empty object", exportTemplateRegister, `{"namespace":"x","name":"y","version":"1","steps":[{},{"Name":"b","handler":"B"}]}`, "steps[1].Name", `unknown field "Name"`},
		{"key in the wrong case", exportTaskInitialize, fmt.Sprintf(`{"Namespace":%q,"name":"diamond","context":{}}`, ns), "Namespace", `unknown field "Namespace"`},
		{"duplicate key", exportTaskInitialize, task(`,"name":"other"`), "name", `duplicate key "name"`},
		{"missing field", exportTaskInitialize, `{"name":"diamond","context":{}}`, "namespace", "is required"},
		{"missing context", exportTaskInitialize, fmt.Sprintf(`{"namespace":%q,"name":"diamond"}`, ns), "context", "is required"},
		{"missing token", exportStepComplete, `{"step_id":1,"results":{}}`, "claim_token", "is required"},
		{"deep context", exportTaskInitialize, fmt.Sprintf(`{"namespace":%q,"name":"diamond","context":%s}`, ns, deep(100_000)), "context", "nested deeper than 10000 levels"},
		{"deep results", exportStepComplete, `{"step_id":1,"claim_token":"x","results":` + deep(100_000) + `}`, "results", "nested deeper than 10000 levels"},
		{"deep params", exportStepClaim, `{"worker_id":"w","limit":1,"namespaces":` + deep(600) + `}`, "namespaces", "nested deeper than 512 levels"},
		{"zero step id", exportStepComplete, `{"step_id":0,"claim_token":"8c1f3b8e-6a0e-4a43-9f3e-0f7c1f0e2b11"}`, "step_id", "must be > 0, got 0"},
		{"negative step id", exportStepHeartbeat, `{"step_id":-5,"claim_token":"8c1f3b8e-6a0e-4a43-9f3e-0f7c1f0e2b11"}`, "step_id", "must be > 0, got -5"},
		{"huge number", exportTaskCancel, `{"task_id":1e30}`, "task_id", "expected integer, got number 1e30"},
		{"negative task id", exportTaskRetry, `{"task_id":-1}`, "task_id", "must be > 0, got -1"},
		{"bad claim token", exportStepComplete, `{"step_id":1,"claim_token":"nope"}`, "claim_token", "must be a UUID"},
		{"zero limit", exportStepClaim, `{"worker_id":"w","limit":0}`, "limit", "must be within 1.."},
		{"no ancestor names", exportAncestorResults, `{"step_id":1,"claim_token":"8c1f3b8e-6a0e-4a43-9f3e-0f7c1f0e2b11","names":[]}`, "names", "must name at least one step"},
		{"ancestor name not a string", exportAncestorResults, `{"step_id":1,"claim_token":"8c1f3b8e-6a0e-4a43-9f3e-0f7c1f0e2b11","names":[1]}`, "names[0]", "expected string, got number"},
		{"no worker", exportStepClaimOne, `{"step_id":3}`, "worker_id", "is required"},
		{"bad fail backoff", exportStepFail, `{"step_id":1,"claim_token":"8c1f3b8e-6a0e-4a43-9f3e-0f7c1f0e2b11","error":{"message":"x"},"backoff_seconds":-1}`, "backoff_seconds", "must be >= 0"},
		{"NUL in context", exportTaskInitialize, fmt.Sprintf(`{"namespace":%q,"name":"diamond","context":{"k":"a\u0000b"}}`, ns), "", "\\u0000"},
		{"purge nothing", exportTaskPurge, `{"task_ids":[]}`, "task_ids", "must name at least one task"},
		{"purge id zero", exportTaskPurge, `{"task_ids":[3,0]}`, "task_ids[1]", "must be > 0, got 0"},
		{"purge ids not an array", exportTaskPurge, `{"task_ids":"1,2"}`, "task_ids", "expected array, got string"},
		{"purge all of ids", exportTaskPurgeAll, `{"task_ids":[1]}`, "task_ids", `unknown field "task_ids"`},
		{"unknown list state", exportTaskList, `{"states":["done"]}`, "states[0]", `unknown task state "done"; valid states: pending, in_progress`},
		{"huge list page", exportTaskList, `{"limit":1000000}`, "limit", "must be within 1..500, got 1000000"},
		{"unknown list key", exportTaskList, `{"offset":100}`, "offset", `unknown field "offset"`},
		{"stats minutes", exportOperationsStats, `{"minutes":0.5}`, "minutes", "expected integer, got number 0.5"},
		{"stuck limit", exportStuckWork, `{"limit":100000}`, "limit", "must be within 1..1000, got 100000"},
		{"cycle", exportTemplateRegister, `{"namespace":"x","name":"cyc","version":"1","steps":[{"name":"a","handler":"A","depends_on":["b"]},{"name":"b","handler":"B","depends_on":["a"]}]}`, "", "cycle"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := rowCounts(t)
			c := callJSON(tc.fn, ptr(tc.in), 5000)
			e := requireErr(t, c, rcValidation, "validation", tc.inText)
			if tc.field != "" {
				require.Equal(t, tc.field, e.Details["field"], e.Message)
			}
			require.NotEmpty(t, e.Details["problems"])
			require.Equal(t, before, rowCounts(t), "a rejected input changed the database")
		})
	}
}

func TestNullPointers(t *testing.T) {
	checkHandles(t)
	before := rowCounts(t)
	for name, fn := range map[string]jsonExport{"register": exportTemplateRegister, "initialize": exportTaskInitialize,
		"claim": exportStepClaim, "complete": exportStepComplete, "cancel": exportTaskCancel, "ancestor_results": exportAncestorResults,
		"purge": exportTaskPurge, "purge_all": exportTaskPurgeAll} {
		t.Run(name, func(t *testing.T) {
			e := requireErr(t, callJSON(fn, nil, 0), rcABI, "abi", "json must not be NULL")
			require.Equal(t, "json", e.Details["argument"])
			requireErr(t, callJSONNullOut(fn, `{}`), rcABI, "abi", "out must not be NULL")
		})
	}
	st := callStats()
	requireOK(t, st)
	_, c := callHandleInt64(st.handle, nil)
	requireErr(t, c, rcABI, "abi", "field must not be NULL")
	_, c = callHandleInt64(st.handle, ptr("no_such_field"))
	e := requireErr(t, c, rcABI, "abi", `Stats has no int64 field "no_such_field"`)
	require.Contains(t, e.Details["fields"], "live_handles")
	requireOK(t, callHandleFree(st.handle))
	require.Equal(t, before, rowCounts(t))
}

func TestLargeContextRoundTrips(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	big := `{"blob":"` + strings.Repeat("x", 10<<20) + `","n":[1,2,3]}`
	taskID := initializeTask(t, ns, big)
	st := callID(exportTaskStatus, taskID, 30_000)
	requireOK(t, st)
	var status tt.TaskStatus
	handleJSON(t, st.handle, &status)
	require.JSONEq(t, big, string(status.Context))

	deepOK := strings.Repeat("[", 9_000) + strings.Repeat("]", 9_000)
	taskID = initializeTask(t, ns, `{"deep":`+deepOK+`}`)
	require.Positive(t, taskID)
}

func TestOversizedInput(t *testing.T) {
	checkHandles(t)
	before := rowCounts(t)
	huge := `{"namespace":"x","name":"y","context":"` + strings.Repeat("x", maxInputBytes) + `"}`
	requireErr(t, callJSON(exportTaskInitialize, &huge, 0), rcValidation, "validation", "larger than the limit")
	require.Equal(t, before, rowCounts(t))
}

func TestIDs(t *testing.T) {
	checkHandles(t)
	before := rowCounts(t)
	defer func() { require.Equal(t, before, rowCounts(t)) }()
	for _, fn := range []idExport{exportTaskStatus, exportExecutionContext, exportStepReadiness, exportDependencyLevels,
		exportTaskTransitions} {
		requireErr(t, callID(fn, 0, 0), rcValidation, "validation", "must be > 0, got 0")
		requireErr(t, callID(fn, -7, 0), rcValidation, "validation", "must be > 0, got -7")
		e := requireErr(t, callID(fn, 1<<62, 0), rcNotFound, "not_found", "not found")
		require.Equal(t, "task", e.Details["kind"])
	}
	token := "8c1f3b8e-6a0e-4a43-9f3e-0f7c1f0e2b11"
	requireErr(t, callJSON(exportStepComplete, ptr(fmt.Sprintf(`{"step_id":%d,"claim_token":%q}`, int64(1)<<62, token)), 0), rcNotFound, "not_found", "not found")
	requireErr(t, callJSON(exportTaskCancel, ptr(`{"task_id":9223372036854775807}`), 0), rcNotFound, "not_found", "not found")
	requireErr(t, callJSON(exportTaskInitialize, ptr(`{"namespace":"nope","name":"nope","context":{}}`), 0), rcNotFound, "not_found", "not found")
	requireErr(t, callID(exportTaskStatus, 1, -1), rcValidation, "validation", "timeout_ms: must be within 0..")
}

func TestHandles(t *testing.T) {
	checkHandles(t)
	for _, h := range []uint64{0, 1, 42, firstHandle - 1, 1 << 63} {
		requireErr(t, callHandleFree(h), rcInvalidHandle, "invalid_handle", "is not live")
		_, c := callHandleJSON(h)
		requireErr(t, c, rcInvalidHandle, "invalid_handle", "is not live")
		_, c = callHandleKind(h)
		requireErr(t, c, rcInvalidHandle, "invalid_handle", "is not live")
		_, c = callHandleInt64(h, ptr("count"))
		requireErr(t, c, rcInvalidHandle, "invalid_handle", "is not live")
	}
	st := callStats()
	requireOK(t, st)
	require.GreaterOrEqual(t, st.handle, uint64(firstHandle))
	n, c := callHandleInt64(st.handle, ptr("live_handles"))
	requireOK(t, c)
	require.Equal(t, liveHandles()-1, n, "live_handles counts the handles before the stats handle")
	requireOK(t, callHandleFree(st.handle))
	e := requireErr(t, callHandleFree(st.handle), rcInvalidHandle, "invalid_handle", "already been freed")
	require.EqualValues(t, st.handle, e.Details["handle"])
	_, c = callHandleJSON(st.handle)
	requireErr(t, c, rcInvalidHandle, "invalid_handle", "is not live")
}

func TestPanicIsRecovered(t *testing.T) {
	checkHandles(t)
	e := requireErr(t, callDebugPanic(), rcInternal, "internal", "recovered panic")
	require.Contains(t, e.Details["stack"], "tasker_debug_panic")
	ns := registerDiamond(t) // the process lives on and the next call works
	require.Positive(t, initializeTask(t, ns, `{"after":"panic"}`))
}

func TestTimeoutHonoured(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	taskID := initializeTask(t, ns, `{"lock":1}`)
	ctx := context.Background()
	tx, err := testPool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "SELECT 1 FROM tasker_tasks WHERE task_id = $1 FOR UPDATE", taskID)
	require.NoError(t, err)

	start := time.Now()
	c := callJSON(exportTaskCancel, ptr(fmt.Sprintf(`{"task_id":%d}`, taskID)), 300)
	elapsed := time.Since(start)
	e := requireErr(t, c, rcTimeout, "timeout", "timed out")
	require.Equal(t, "cancel_task", e.Details["op"])
	require.Less(t, elapsed, 2*time.Second)
	require.GreaterOrEqual(t, elapsed, 250*time.Millisecond)
	require.NoError(t, tx.Rollback(ctx))

	st := callID(exportTaskStatus, taskID, 0)
	requireOK(t, st)
	var status tt.TaskStatus
	handleJSON(t, st.handle, &status)
	require.Equal(t, tt.TaskPending, status.Status, "the timed-out cancel must not have happened")
}

// TestLifecycle runs last-ish: it shuts the engine down and brings it back.
func TestLifecycle(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	kept := callStats()
	requireOK(t, kept)
	running := startDispatcher(t, ns, "")

	requireErr(t, callInit(ptr(initConfigJSON(""))), rcValidation, "validation", "already initialized")
	requireOK(t, callShutdown(5000))
	requireErr(t, callShutdown(0), rcNotInitialized, "not_initialized", "call tasker_init")
	// tasker_shutdown stopped the dispatcher before closing the pool.
	requireErr(t, callDispatcherNext(running, 100), rcShutdown, "shutdown", "")
	requireOK(t, callDispatcherStop(running, 100))
	requireOK(t, callHandleFree(running))
	requireErr(t, callDispatcherStart(ptr(`{"worker_id":"w"}`), 0), rcNotInitialized, "not_initialized", "tasker_init")

	requireErr(t, callJSON(exportTaskInitialize, ptr(`{"namespace":"x","name":"y","context":{}}`), 0), rcNotInitialized, "not_initialized", "tasker_init")
	requireErr(t, callID(exportTaskStatus, 1, 0), rcNotInitialized, "not_initialized", "tasker_init")
	requireErr(t, callMigrate(0), rcNotInitialized, "not_initialized", "tasker_init")
	kind, c := callHandleKind(kept.handle) // handles outlive the engine
	requireOK(t, c)
	require.Equal(t, "Stats", kind)
	requireOK(t, callHandleFree(kept.handle))

	bad := []struct{ cfg, field, text string }{
		{`{}`, "database_url", "is required"},
		{`{"database_url":"postgres://x","pool_size":-1}`, "pool_size", "must be within 1..1000"},
		{`{"database_url":"postgres://x","log_level":"loud"}`, "log_level", "must be one of"},
		{`{"database_url":"postgres://x","lock_timeout_ms":-1}`, "lock_timeout_ms", "must be within 0.."},
		{`{"database_url":"postgres://x","surprise":1}`, "surprise", "unknown field"},
		{`{"database_url":"postgres://x","backoff":{"base_ms":10,"multiplier":0.5,"max_ms":20}}`, "backoff", "multiplier must be >= 1"},
		{`{"database_url":"::not a url::"}`, "database_url", "cannot be parsed"},
		{`{"database_url":"postgres://x","pgbouncer":true,"listen_database_url":"::not a url::"}`, "listen_database_url", "cannot be parsed"},
		{`{"database_url":"postgres://x","pgbouncer":"yes"}`, "pgbouncer", ""},
	}
	for _, b := range bad {
		e := requireErr(t, callInit(&b.cfg), rcValidation, "validation", b.text)
		require.Equal(t, b.field, e.Details["field"])
	}
	requireErr(t, callInit(nil), rcABI, "abi", "config_json must not be NULL")
	unreachable := `{"database_url":"postgres://postgres@127.0.0.1:1/none?sslmode=disable","connect_timeout_ms":2000}`
	c = callInit(&unreachable)
	require.Contains(t, []int{rcDatabase, rcTimeout}, c.rc, c.errJSON)

	requireOK(t, callInit(ptr(initConfigJSON(`,"gomaxprocs":2,"memory_limit_bytes":1073741824,"default_timeout_ms":20000`))))
	st := callStats()
	requireOK(t, st)
	var stats Stats
	handleJSON(t, st.handle, &stats)
	require.True(t, stats.Initialized)
	require.EqualValues(t, 2, stats.GOMAXPROCS)
	require.EqualValues(t, 1<<30, stats.MemoryLimit)
	require.EqualValues(t, 8, stats.PoolMaxConns)
	require.Positive(t, initializeTask(t, ns, `{"after":"reinit"}`))

	// log_level decides what the library logs: an operator action is logged
	// at info, not at error.
	cancelLogged := func(level string) string {
		var logs strings.Builder
		logOutput = &logs
		defer func() { logOutput = os.Stderr }()
		requireOK(t, callShutdown(5000))
		requireOK(t, callInit(ptr(fmt.Sprintf(`{"database_url":%q,"log_level":%q}`, testDBURL, level))))
		id := initializeTask(t, ns, fmt.Sprintf(`{"log":%q}`, level))
		c := callJSON(exportTaskCancel, ptr(fmt.Sprintf(`{"task_id":%d,"reason":"log check"}`, id)), 0)
		requireOK(t, c)
		callHandleFree(c.handle)
		return logs.String()
	}
	require.Contains(t, cancelLogged("info"), `msg="tasker engine: task cancelled"`)
	require.Empty(t, cancelLogged("error"))
}

func TestVersionAndDiagnostics(t *testing.T) {
	checkHandles(t)
	require.EqualValues(t, 2, tasker_abi_version())
	require.Contains(t, callVersion(), `"abi_version":2`)
	require.Contains(t, callGoroutineDump(), "goroutine ")
	require.GreaterOrEqual(t, int(tasker_ensure_sigonstack()), 0)
	echo := callDebugEcho("ClaimParams", `{"limit":3,"worker_id":"w"}`)
	requireOK(t, echo)
	kind, c := callHandleKind(echo.handle)
	requireOK(t, c)
	require.Equal(t, "ClaimParams", kind)
	requireOK(t, callHandleFree(echo.handle))
	requireErr(t, callDebugEcho("Nope", `{}`), rcValidation, "validation", "must be one of")
}
