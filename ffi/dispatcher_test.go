package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// startDispatcher starts a dispatcher on ns with quick polling and extra
// config fields (",..." or ""), and returns its handle.
func startDispatcher(t *testing.T, ns, extra string) uint64 {
	t.Helper()
	c := callDispatcherStart(ptr(fmt.Sprintf(`{"worker_id":%q,"namespaces":[%q],"fetch_poll_interval_ms":50%s}`,
		"ffi-"+t.Name(), ns, extra)), 5000)
	requireOK(t, c)
	require.NotZero(t, c.handle)
	return c.handle
}

// nextStep blocks in tasker_dispatcher_next up to timeoutMs and returns the
// step (nil when none came), freeing its handle.
func nextStep(t *testing.T, h uint64, timeoutMs int64) *tt.ClaimedStep {
	t.Helper()
	c := callDispatcherNext(h, timeoutMs)
	requireOK(t, c)
	if c.handle == 0 {
		return nil
	}
	kind, kc := callHandleKind(c.handle)
	requireOK(t, kc)
	require.Equal(t, "ClaimedStep", kind)
	var s tt.ClaimedStep
	handleJSON(t, c.handle, &s)
	return &s
}

func completeJSON(s *tt.ClaimedStep, results string) *string {
	return ptr(fmt.Sprintf(`{"step_id":%d,"claim_token":%q,"results":%s}`, s.WorkflowStepID, s.ClaimToken, results))
}

func stopAndFree(t *testing.T, h uint64) {
	t.Helper()
	requireOK(t, callDispatcherStop(h, 5000))
	requireOK(t, callDispatcherStop(h, 5000)) // a second stop is a no-op
	requireOK(t, callHandleFree(h))
}

func stepStatus(t *testing.T, stepID int64) (string, int) {
	t.Helper()
	var status string
	var attempts int
	require.NoError(t, testPool.QueryRow(t.Context(),
		`SELECT status, attempts FROM tasker_workflow_steps WHERE workflow_step_id = $1`, stepID).Scan(&status, &attempts))
	return status, attempts
}

// TestDispatcherFlow runs two diamonds through one dispatcher from three
// executor goroutines, with a failed attempt retried, then quiets it.
func TestDispatcherFlow(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	tasks := []int64{initializeTask(t, ns, `{"d":1}`), initializeTask(t, ns, `{"d":2}`)}
	h := startDispatcher(t, ns, `,"lease_ms":2000`)
	kind, kc := callHandleKind(h)
	requireOK(t, kc)
	require.Equal(t, "Dispatcher", kind)

	var mu sync.Mutex
	failedOnce := map[int64]bool{}
	done := 0
	var wg sync.WaitGroup
	deadline := time.Now().Add(30 * time.Second)
	for range 3 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				mu.Lock()
				finished := done == 8
				mu.Unlock()
				if finished {
					return
				}
				s := nextStep(t, h, 200)
				if s == nil {
					continue
				}
				require.Positive(t, s.TimeoutSeconds, "the dispatcher's default step timeout")
				mu.Lock()
				failFirst := s.StepName == "d" && !failedOnce[s.TaskID]
				if failFirst {
					failedOnce[s.TaskID] = true
				}
				mu.Unlock()
				if failFirst {
					c := callDispatcherReport(exportDispatcherFail, h, ptr(fmt.Sprintf(`{"step_id":%d,"claim_token":%q,"error":{"class":"Flaky","message":"once"}}`,
						s.WorkflowStepID, s.ClaimToken)), 5000, false)
					requireOK(t, c)
					var r tt.StepResult
					handleJSON(t, c.handle, &r)
					require.Equal(t, tt.StepWaitingForRetry, r.Status)
					continue
				}
				c := callDispatcherReport(exportDispatcherComplete, h, completeJSON(s, fmt.Sprintf(`{"step":%q}`, s.StepName)), 5000, false)
				requireOK(t, c)
				var r tt.StepResult
				handleJSON(t, c.handle, &r)
				require.Equal(t, tt.StepComplete, r.Status)
				mu.Lock()
				done++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, id := range tasks {
		st := callID(exportTaskStatus, id, 0)
		requireOK(t, st)
		var status tt.TaskStatus
		handleJSON(t, st.handle, &status)
		require.Equal(t, tt.TaskComplete, status.Status)
	}

	sc := callDispatcherStats(h, false)
	requireOK(t, sc)
	kind, kc = callHandleKind(sc.handle)
	requireOK(t, kc)
	require.Equal(t, "DispatcherStats", kind)
	completed, ic := callHandleInt64(sc.handle, ptr("completed"))
	requireOK(t, ic)
	require.EqualValues(t, 8, completed)
	var stats DispatcherStats
	handleJSON(t, sc.handle, &stats)
	require.EqualValues(t, 2, stats.Failed) // d of each task, once
	require.Equal(t, "ffi-"+t.Name(), stats.WorkerID)
	running, ic := callHandleInt64(h, ptr("running")) // the dispatcher handle reads its own stats
	requireOK(t, ic)
	require.Zero(t, running)

	requireOK(t, callDispatcherQuiet(h))
	requireErr(t, callDispatcherNext(h, 1000), rcShutdown, "shutdown", "")
	var quiet DispatcherStats
	s, jc := callHandleJSON(h)
	requireOK(t, jc)
	require.NoError(t, jsonUnmarshal(s, &quiet))
	require.True(t, quiet.Quiet)
	stopAndFree(t, h)
}

// A Next with nothing to run returns rc 0 and no handle after its timeout.
func TestDispatcherNextTimesOut(t *testing.T) {
	checkHandles(t)
	h := startDispatcher(t, taskertest.Namespace(t), "")
	start := time.Now()
	c := callDispatcherNext(h, 150)
	requireOK(t, c)
	require.Zero(t, c.handle)
	require.GreaterOrEqual(t, time.Since(start), 140*time.Millisecond)
	require.Less(t, time.Since(start), 2*time.Second)
	stopAndFree(t, h)
}

// A step past its timeout is failed by the dispatcher as a retryable
// attempt; the late result is stale, and the retry completes it.
func TestDispatcherStepTimeout(t *testing.T) {
	checkHandles(t)
	ns := taskertest.Namespace(t)
	reg := callJSON(exportTemplateRegister, ptr(fmt.Sprintf(`{"namespace":%q,"name":"one","version":"1.0.0","steps":[{"name":"a","handler":"A"}]}`, ns)), 0)
	requireOK(t, reg)
	requireOK(t, callHandleFree(reg.handle))
	c := callJSON(exportTaskInitialize, ptr(fmt.Sprintf(`{"namespace":%q,"name":"one","context":{}}`, ns)), 0)
	requireOK(t, c)
	requireOK(t, callHandleFree(c.handle))
	h := startDispatcher(t, ns, `,"lease_ms":300,"default_step_timeout_ms":1000`)

	s := nextStep(t, h, 5000)
	require.NotNil(t, s)
	require.Equal(t, 1, s.TimeoutSeconds)
	require.Equal(t, 1, s.Attempts)
	time.Sleep(2 * time.Second) // the handler overruns its second
	late := callDispatcherReport(exportDispatcherComplete, h, completeJSON(s, `{"late":true}`), 5000, false)
	requireErr(t, late, rcStaleClaim, "stale_claim", "")

	again := nextStep(t, h, 5000)
	require.NotNil(t, again)
	require.Equal(t, s.WorkflowStepID, again.WorkflowStepID)
	require.Equal(t, 2, again.Attempts)
	ok := callDispatcherReport(exportDispatcherComplete, h, completeJSON(again, `{"in_time":true}`), 5000, false)
	requireOK(t, ok)
	requireOK(t, callHandleFree(ok.handle))
	sc := callDispatcherStats(h, false)
	requireOK(t, sc)
	var stats DispatcherStats
	handleJSON(t, sc.handle, &stats)
	require.EqualValues(t, 1, stats.TimedOut)
	stopAndFree(t, h)
}

// Stop gives back a step handed out and never reported: pending again at
// once, its attempt not counted.
func TestDispatcherStopReleases(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	initializeTask(t, ns, `{"stop":1}`)
	h := startDispatcher(t, ns, "")
	s := nextStep(t, h, 5000)
	require.NotNil(t, s)
	status, attempts := stepStatus(t, s.WorkflowStepID)
	require.Equal(t, []any{"in_progress", 1}, []any{status, attempts})

	start := time.Now()
	e := requireErr(t, callDispatcherStop(h, 300), rcTimeout, "timeout", "released them")
	require.Equal(t, "dispatcher_stop", e.Details["op"])
	require.Less(t, time.Since(start), 3*time.Second)
	requireOK(t, callDispatcherStop(h, 300)) // stopped: a second stop is a no-op
	status, attempts = stepStatus(t, s.WorkflowStepID)
	require.Equal(t, []any{"pending", 0}, []any{status, attempts})
	requireErr(t, callDispatcherNext(h, 100), rcShutdown, "shutdown", "")
	late := callDispatcherReport(exportDispatcherComplete, h, completeJSON(s, `{}`), 1000, false)
	require.NotEqual(t, 0, late.rc, "a report after stop is refused")
	requireOK(t, callHandleFree(h))
}

// A dispatcher handle freed while running is stopped in the background.
func TestDispatcherFreedWhileRunning(t *testing.T) {
	checkHandles(t)
	h := startDispatcher(t, taskertest.Namespace(t), "")
	requireOK(t, callHandleFree(h))
	requireErr(t, callDispatcherNext(h, 10), rcInvalidHandle, "invalid_handle", "not live")
	requireErr(t, callHandleFree(h), rcInvalidHandle, "invalid_handle", "not live")
}

func TestDispatcherBadInput(t *testing.T) {
	checkHandles(t)
	bad := []struct{ cfg, field, text string }{
		{`{"namespaces":["a"]}`, "", "worker_id is required"},
		{`{"worker_id":"w","surprise":1}`, "surprise", `unknown field "surprise"`},
		{`{"worker_id":"w","lease_ms":-1}`, "lease_ms", "must be within 0..86400000"},
		{`{"worker_id":"w","lease_ms":99999999999}`, "lease_ms", "must be within 0..86400000"},
		{`{"worker_id":"w","lease_ms":50}`, "", "lease must be at least 100ms"},
		{`{"worker_id":"w","max_batch":5000}`, "", "max_batch must be within 1..1000"},
		{`{"worker_id":"w","namespaces":[""]}`, "", "namespaces[0] must not be empty"},
		{`{"worker_id":7}`, "worker_id", "expected string, got number"},
	}
	for _, b := range bad {
		e := requireErr(t, callDispatcherStart(&b.cfg, 0), rcValidation, "validation", b.text)
		if b.field != "" {
			require.Equal(t, b.field, e.Details["field"], e.Message)
		}
	}
	requireErr(t, callDispatcherStart(nil, 0), rcABI, "abi", "json must not be NULL")
	requireErr(t, callJSONNullOut(tasker_dispatcher_start, `{"worker_id":"w"}`), rcABI, "abi", "out must not be NULL")

	// Unknown, freed and wrong-kind handles.
	requireErr(t, callDispatcherNext(1, 10), rcInvalidHandle, "invalid_handle", "not live")
	requireErr(t, callDispatcherQuiet(1), rcInvalidHandle, "invalid_handle", "not live")
	requireErr(t, callDispatcherStop(1, 0), rcInvalidHandle, "invalid_handle", "not live")
	requireErr(t, callDispatcherStats(1, false), rcInvalidHandle, "invalid_handle", "not live")
	requireErr(t, callDispatcherReport(exportDispatcherComplete, 1, ptr(`{}`), 0, false), rcInvalidHandle, "invalid_handle", "not live")
	st := callStats()
	requireOK(t, st)
	e := requireErr(t, callDispatcherNext(st.handle, 10), rcABI, "abi", "is a Stats, not a Dispatcher")
	require.Equal(t, "Stats", e.Details["kind"])
	requireErr(t, callDispatcherQuiet(st.handle), rcABI, "abi", "not a Dispatcher")
	requireOK(t, callHandleFree(st.handle))

	h := startDispatcher(t, taskertest.Namespace(t), "")
	requireErr(t, callDispatcherNext(h, -1), rcValidation, "validation", "timeout_ms: must be within 0..")
	requireErr(t, callDispatcherStop(h, -1), rcValidation, "validation", "timeout_ms: must be within 0..")
	requireErr(t, callDispatcherStats(h, true), rcABI, "abi", "out must not be NULL")
	requireErr(t, callDispatcherReport(exportDispatcherComplete, h, nil, 0, false), rcABI, "abi", "json must not be NULL")
	requireErr(t, callDispatcherReport(exportDispatcherFail, h, ptr(`{"step_id":1}`), 0, true), rcABI, "abi", "out must not be NULL")
	requireErr(t, callDispatcherReport(exportDispatcherComplete, h, ptr(`{"step_id":1,"claim_token":"x","results":{},"extra":1}`), 0, false),
		rcValidation, "validation", `unknown field "extra"`)
	requireErr(t, callDispatcherReport(exportDispatcherFail, h, ptr(`{"step_id":0,"claim_token":"x","error":{"message":"m"}}`), 0, false),
		rcValidation, "validation", "")
	stopAndFree(t, h)
}

func FuzzDecodeDispatcherConfig(f *testing.F) {
	fuzzDecoder(f, decodeDispatcherConfig,
		`{"worker_id":"w","namespaces":["a"],"lease_ms":30000,"default_step_timeout_ms":1000,"fetch_cooldown_ms":2,"fetch_poll_interval_ms":50,"max_batch":10,"rescue_interval_ms":100}`)
}

// Every step and task state has an outcome code, and the codes are distinct.
func TestOutcomeCodes(t *testing.T) {
	seen := map[int64]bool{}
	for _, s := range tt.StepStates() {
		c, ok := stepStateCodes[s]
		require.True(t, ok, "no code for step state %q", s)
		require.False(t, seen[c], "step code %d twice", c)
		seen[c] = true
	}
	seen = map[int64]bool{}
	for _, s := range tt.TaskStates() {
		c, ok := taskStateCodes[s]
		require.True(t, ok, "no code for task state %q", s)
		require.False(t, seen[c], "task code %d twice", c)
		seen[c] = true
	}
	_, err := outcomeOf(&tt.StepResult{WorkflowStepID: 7, Status: "surprise", TaskStatus: tt.TaskComplete})
	require.ErrorContains(t, err, `step 7: no outcome code for step status "surprise"`)
}

// tasker_dispatcher_complete_next runs a diamond from one executor: each
// completion's outcome comes back in the int64 slots and the next step the
// flush claimed for the executor comes back with it, until the task is done.
func TestDispatcherCompleteNext(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	task := initializeTask(t, ns, `{"next":1}`)
	h := startDispatcher(t, ns, "")

	s := nextStep(t, h, 5000)
	require.NotNil(t, s)
	require.Equal(t, "a", s.StepName)
	var order []string
	taken := 0
	for s != nil {
		order = append(order, s.StepName)
		c := callDispatcherCompleteNext(h, completeJSON(s, fmt.Sprintf(`{"step":%q}`, s.StepName)), 5000, false, true)
		requireOK(t, c.abiCall)
		o := c.outcome
		require.Equal(t, s.WorkflowStepID, o[outcomeWorkflowStepID])
		require.Equal(t, task, o[outcomeTaskID])
		require.EqualValues(t, stepStateCodes[tt.StepComplete], o[outcomeStatus])
		require.EqualValues(t, 1, o[outcomeAttempts])
		require.Zero(t, o[outcomeNextRetryAtMS])
		switch o[outcomeNext] {
		case nextStateStep:
			require.False(t, c.nextNULL)
			require.EqualValues(t, len(c.next), c.nextLen)
			var n tt.ClaimedStep
			require.NoError(t, jsonUnmarshal(c.next, &n), c.next)
			require.Positive(t, n.TimeoutSeconds, "handed out: the attempt has started")
			require.Equal(t, 1, n.Attempts)
			require.Equal(t, task, n.TaskID)
			s = &n
			taken++
		case nextStateNone:
			require.True(t, c.nextNULL)
			require.Zero(t, c.nextLen)
			s = nextStep(t, h, 2000) // b and c are claimed together after a: one may go to the next call
		default:
			t.Fatalf("next state %d", o[outcomeNext])
		}
		if s == nil {
			require.EqualValues(t, taskStateCodes[tt.TaskComplete], o[outcomeTaskStatus], "the last completion finished the task")
		} else {
			require.EqualValues(t, taskStateCodes[tt.TaskInProgress], o[outcomeTaskStatus])
		}
	}
	require.Len(t, order, 4)
	require.Equal(t, "a", order[0])
	require.Equal(t, "d", order[3])
	require.Positive(t, taken, "the flush claims the children for the executor that reported")
	st := callID(exportTaskStatus, task, 0)
	requireOK(t, st)
	var status tt.TaskStatus
	handleJSON(t, st.handle, &status)
	require.Equal(t, tt.TaskComplete, status.Status)
	for _, step := range status.Steps {
		require.JSONEq(t, fmt.Sprintf(`{"step":%q}`, step.Name), string(step.Results))
	}
	stopAndFree(t, h)
}

// With next_out NULL the call only completes; after quiet it completes and
// says shutdown; a refused report writes nothing and hands out nothing.
func TestDispatcherCompleteNextEdges(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	task := initializeTask(t, ns, `{"edges":1}`)
	h := startDispatcher(t, ns, "")

	a := nextStep(t, h, 5000)
	require.NotNil(t, a)
	c := callDispatcherCompleteNext(h, completeJSON(a, `{}`), 5000, false, false)
	requireOK(t, c.abiCall)
	require.Equal(t, a.WorkflowStepID, c.outcome[outcomeWorkflowStepID])
	require.EqualValues(t, nextStateNone, c.outcome[outcomeNext], "not asked")
	b := nextStep(t, h, 5000) // the children wait for a Next instead
	require.NotNil(t, b)

	// The same report again is stale: rc, and the outcome zeroed, no step.
	stale := callDispatcherCompleteNext(h, completeJSON(a, `{}`), 5000, false, true)
	requireErr(t, stale.abiCall, rcStaleClaim, "stale_claim", "")
	require.Equal(t, [outcomeLen]int64{}, stale.outcome)
	require.True(t, stale.nextNULL)
	require.Zero(t, stale.nextLen)

	requireOK(t, callDispatcherQuiet(h))
	q := callDispatcherCompleteNext(h, completeJSON(b, `{}`), 5000, false, true)
	requireOK(t, q.abiCall)
	require.EqualValues(t, stepStateCodes[tt.StepComplete], q.outcome[outcomeStatus])
	require.EqualValues(t, nextStateShutdown, q.outcome[outcomeNext])
	require.True(t, q.nextNULL)
	bStatus, _ := stepStatus(t, b.WorkflowStepID)
	require.Equal(t, "complete", bStatus, "recorded although the dispatcher is quiet")
	require.NotZero(t, task)
	stopAndFree(t, h)

	// Bad input: every refusal is a typed error with nothing written.
	requireErr(t, callDispatcherCompleteNext(1, ptr(`{}`), 0, false, true).abiCall, rcInvalidHandle, "invalid_handle", "not live")
	st := callStats()
	requireOK(t, st)
	requireErr(t, callDispatcherCompleteNext(st.handle, ptr(`{}`), 0, false, true).abiCall, rcABI, "abi", "is a Stats, not a Dispatcher")
	requireOK(t, callHandleFree(st.handle))
	h = startDispatcher(t, ns, "")
	e := requireErr(t, callDispatcherCompleteNext(h, ptr(`{}`), 0, true, true).abiCall, rcABI, "abi", "outcome_out must not be NULL")
	require.Equal(t, "outcome_out", e.Details["argument"])
	requireErr(t, callDispatcherCompleteNext(h, nil, 0, false, true).abiCall, rcABI, "abi", "json must not be NULL")
	requireErr(t, callDispatcherCompleteNext(h, ptr(`{"step_id":1,"claim_token":"x","results":{},"extra":1}`), 0, false, true).abiCall,
		rcValidation, "validation", `unknown field "extra"`)
	requireErr(t, callDispatcherCompleteNext(h, ptr(`{"step_id":1,"claim_token":"x","results":{}}`), -1, false, true).abiCall,
		rcValidation, "validation", "timeout_ms: must be within 0..")
	bad := callDispatcherCompleteNext(h, ptr(`{"step_id":0,"claim_token":"x","results":{}}`), 0, false, true)
	requireErr(t, bad.abiCall, rcValidation, "validation", "")
	require.Equal(t, [outcomeLen]int64{}, bad.outcome)
	require.True(t, bad.nextNULL)
	stopAndFree(t, h)
}
