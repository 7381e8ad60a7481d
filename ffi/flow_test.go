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

// diamondTemplate is a -> (b, c) -> d in namespace ns.
func diamondTemplate(ns string) string {
	return fmt.Sprintf(`{"namespace":%q,"name":"diamond","version":"1.0.0","steps":[
		{"name":"a","handler":"A"},
		{"name":"b","handler":"B","depends_on":["a"]},
		{"name":"c","handler":"C","depends_on":["a"]},
		{"name":"d","handler":"D","depends_on":["b","c"],"retry_limit":2}]}`, ns)
}

// registerDiamond registers the diamond in a fresh namespace and returns it.
func registerDiamond(t *testing.T) string {
	t.Helper()
	ns := taskertest.Namespace(t)
	c := callJSON(exportTemplateRegister, ptr(diamondTemplate(ns)), 0)
	requireOK(t, c)
	requireOK(t, callHandleFree(c.handle))
	return ns
}

// initializeTask starts a diamond task with context and returns its id.
func initializeTask(t *testing.T, ns, context string) int64 {
	t.Helper()
	c := callJSON(exportTaskInitialize, ptr(fmt.Sprintf(`{"namespace":%q,"name":"diamond","context":%s}`, ns, context)), 0)
	requireOK(t, c)
	id, ic := callHandleInt64(c.handle, ptr("task_id"))
	requireOK(t, ic)
	requireOK(t, callHandleFree(c.handle))
	return id
}

func TestDiamondFlow(t *testing.T) {
	checkHandles(t)
	ns := taskertest.Namespace(t)

	reg := callJSON(exportTemplateRegister, ptr(diamondTemplate(ns)), 5000)
	requireOK(t, reg)
	kind, kc := callHandleKind(reg.handle)
	requireOK(t, kc)
	require.Equal(t, "TemplateResult", kind)
	var tpl tt.TemplateResult
	handleJSON(t, reg.handle, &tpl)
	require.Equal(t, 4, tpl.StepCount)
	require.True(t, tpl.Created)

	ini := callJSON(exportTaskInitialize, ptr(fmt.Sprintf(`{"namespace":%q,"name":"diamond","context":{"order":42}}`, ns)), 5000)
	requireOK(t, ini)
	n, c := callHandleInt64(ini.handle, ptr("step_count"))
	requireOK(t, c)
	require.EqualValues(t, 4, n)
	var init tt.InitializeResult
	handleJSON(t, ini.handle, &init)
	require.Equal(t, 4, init.StepCount)
	require.Len(t, init.StepMapping, 4)

	levels := callID(exportDependencyLevels, init.TaskID, 0)
	requireOK(t, levels)
	var lv DependencyLevelsResult
	handleJSON(t, levels.handle, &lv)
	require.Len(t, lv.Levels, 4)

	completed := map[string]bool{}
	for range 10 {
		claim := callJSON(exportStepClaim, ptr(fmt.Sprintf(`{"namespaces":[%q],"limit":10,"worker_id":"ffi-test"}`, ns)), 5000)
		requireOK(t, claim)
		count, cc := callHandleInt64(claim.handle, ptr("count"))
		requireOK(t, cc)
		var batch tt.ClaimResult
		handleJSON(t, claim.handle, &batch)
		require.Len(t, batch.Steps, int(count))
		if count == 0 {
			break
		}
		for _, s := range batch.Steps {
			for dep := range s.DependencyResults {
				require.True(t, completed[dep], "step %s got results of %s before it completed", s.StepName, dep)
			}
			if s.StepName == "d" {
				requireAncestorResults(t, s)
			}
			hb := callJSON(exportStepHeartbeat, ptr(fmt.Sprintf(`{"step_id":%d,"claim_token":%q,"lease_ms":60000}`, s.WorkflowStepID, s.ClaimToken)), 5000)
			requireOK(t, hb)
			requireOK(t, callHandleFree(hb.handle))
			done := callJSON(exportStepComplete, ptr(fmt.Sprintf(`{"step_id":%d,"claim_token":%q,"results":{"step":%q}}`, s.WorkflowStepID, s.ClaimToken, s.StepName)), 5000)
			requireOK(t, done)
			var res tt.StepResult
			handleJSON(t, done.handle, &res)
			require.Equal(t, tt.StepComplete, res.Status)
			completed[s.StepName] = true

			again := callJSON(exportStepComplete, ptr(fmt.Sprintf(`{"step_id":%d,"claim_token":%q,"results":{}}`, s.WorkflowStepID, s.ClaimToken)), 5000)
			requireErr(t, again, rcStaleClaim, "stale_claim", "stale claim")
		}
	}
	require.Len(t, completed, 4)

	st := callID(exportTaskStatus, init.TaskID, 5000)
	requireOK(t, st)
	complete, cc := callHandleInt64(st.handle, ptr("complete"))
	requireOK(t, cc)
	require.EqualValues(t, 1, complete)
	var status tt.TaskStatus
	handleJSON(t, st.handle, &status)
	require.Equal(t, tt.TaskComplete, status.Status)
	require.JSONEq(t, `{"order":42}`, string(status.Context))
	for _, s := range status.Steps {
		require.Equal(t, tt.StepComplete, s.Status, s.Name)
		require.JSONEq(t, fmt.Sprintf(`{"step":%q}`, s.Name), string(s.Results))
	}

	ec := callID(exportExecutionContext, init.TaskID, 0)
	requireOK(t, ec)
	var exec tt.TaskExecutionContext
	handleJSON(t, ec.handle, &exec)
	require.Equal(t, tt.ExecAllComplete, exec.ExecutionStatus)

	rd := callID(exportStepReadiness, init.TaskID, 0)
	requireOK(t, rd)
	var ready ReadinessResult
	handleJSON(t, rd.handle, &ready)
	require.Len(t, ready.Steps, 4)

	hist := callID(exportTaskTransitions, init.TaskID, 0)
	requireOK(t, hist)
	n, c = callHandleInt64(hist.handle, ptr("step_count"))
	requireOK(t, c)
	var transitions tt.TaskTransitions
	handleJSON(t, hist.handle, &transitions)
	require.Len(t, transitions.Steps, int(n))
	require.Len(t, transitions.Steps, 4*3, "pending, in_progress, complete for each of 4 steps")
	require.Equal(t, tt.TaskState(transitions.Task[len(transitions.Task)-1].ToState), tt.TaskComplete)
}

// TestOperatorFlow fails a step permanently, retries the task, claims one
// step by id, resolves one manually and cancels another task.
func TestOperatorFlow(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	taskID := initializeTask(t, ns, `{"operator":1}`)

	claim := callJSON(exportStepClaim, ptr(fmt.Sprintf(`{"namespaces":[%q],"limit":10,"worker_id":"w"}`, ns)), 0)
	requireOK(t, claim)
	var batch tt.ClaimResult
	handleJSON(t, claim.handle, &batch)
	require.Len(t, batch.Steps, 1)
	a := batch.Steps[0]

	failed := callJSON(exportStepFail, ptr(fmt.Sprintf(`{"step_id":%d,"claim_token":%q,"error":{"class":"Boom","message":"no"},"permanent":true}`, a.WorkflowStepID, a.ClaimToken)), 0)
	requireOK(t, failed)
	var fr tt.StepResult
	handleJSON(t, failed.handle, &fr)
	require.Equal(t, tt.StepError, fr.Status)
	require.Equal(t, tt.TaskError, fr.TaskStatus)

	retry := callJSON(exportTaskRetry, ptr(fmt.Sprintf(`{"task_id":%d,"reason":"fixed"}`, taskID)), 0)
	requireOK(t, retry)
	var rs tt.TaskStatus
	handleJSON(t, retry.handle, &rs)
	require.Equal(t, tt.TaskPending, rs.Status)

	one := callJSON(exportStepClaimOne, ptr(fmt.Sprintf(`{"step_id":%d,"worker_id":"w"}`, a.WorkflowStepID)), 0)
	requireOK(t, one)
	kind, kc := callHandleKind(one.handle)
	requireOK(t, kc)
	require.Equal(t, "ClaimedStep", kind)
	requireOK(t, callHandleFree(one.handle))

	var stepB int64
	for _, s := range rs.Steps {
		if s.Name == "b" {
			stepB = s.WorkflowStepID
		}
	}
	notReady := callJSON(exportStepClaimOne, ptr(fmt.Sprintf(`{"step_id":%d,"worker_id":"w"}`, stepB)), 0)
	e := requireErr(t, notReady, rcNotReady, "not_ready", "dependencies unmet")
	require.Equal(t, "dependencies_unmet", e.Details["reason"])

	resolved := callJSON(exportStepResolve, ptr(fmt.Sprintf(`{"step_id":%d,"reason":"by hand","results":{"manual":true}}`, stepB)), 0)
	requireOK(t, resolved)
	requireOK(t, callHandleFree(resolved.handle))

	cancel := callJSON(exportTaskCancel, ptr(fmt.Sprintf(`{"task_id":%d}`, taskID)), 0)
	requireOK(t, cancel)
	var cs tt.TaskStatus
	handleJSON(t, cancel.handle, &cs)
	require.Equal(t, tt.TaskCancelled, cs.Status)

	again := callJSON(exportTaskCancel, ptr(fmt.Sprintf(`{"task_id":%d}`, taskID)), 0)
	e = requireErr(t, again, rcInvalidTransition, "invalid_transition", "cannot go from cancelled")
	require.Equal(t, "cancelled", e.Details["from"])
}

// TestDuplicateAndMigrate covers duplicate identity and an idempotent migrate.
func TestDuplicateAndMigrate(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	first := initializeTask(t, ns, `{"same":true}`)
	dup := callJSON(exportTaskInitialize, ptr(fmt.Sprintf(`{"namespace":%q,"name":"diamond","context":{"same":true}}`, ns)), 0)
	e := requireErr(t, dup, rcDuplicate, "duplicate", "same identity")
	require.EqualValues(t, first, e.Details["existing_task_id"])

	m := callMigrate(0)
	requireOK(t, m)
	applied, c := callHandleInt64(m.handle, ptr("applied"))
	requireOK(t, c)
	require.Zero(t, applied)
	requireOK(t, callHandleFree(m.handle))

	conflict := callJSON(exportTemplateRegister, ptr(fmt.Sprintf(`{"namespace":%q,"name":"diamond","version":"1.0.0","steps":[{"name":"a","handler":"A"}]}`, ns)), 0)
	requireErr(t, conflict, rcConflict, "conflict", "different shape")
}

// A worker shutting down releases a claimed step through the ABI: the step is
// claimable again at once with its attempt given back, and the old token is
// stale.
func TestReleaseFlow(t *testing.T) {
	checkHandles(t)
	ns := registerDiamond(t)
	initializeTask(t, ns, `{"release":true}`)

	claimJSON := fmt.Sprintf(`{"namespaces":[%q],"limit":10,"worker_id":"stopping"}`, ns)
	claim := callJSON(exportStepClaim, ptr(claimJSON), 5000)
	requireOK(t, claim)
	var batch tt.ClaimResult
	handleJSON(t, claim.handle, &batch)
	require.Len(t, batch.Steps, 1)
	s := batch.Steps[0]

	rel := callJSON(exportStepRelease, ptr(fmt.Sprintf(`{"step_id":%d,"claim_token":%q,"reason":"shutdown"}`, s.WorkflowStepID, s.ClaimToken)), 5000)
	requireOK(t, rel)
	var res tt.StepResult
	handleJSON(t, rel.handle, &res)
	require.Equal(t, tt.StepPending, res.Status)
	require.Equal(t, 0, res.Attempts)

	again := callJSON(exportStepRelease, ptr(fmt.Sprintf(`{"step_id":%d,"claim_token":%q}`, s.WorkflowStepID, s.ClaimToken)), 5000)
	requireErr(t, again, rcStaleClaim, "stale_claim", "stale claim")
	bad := callJSON(exportStepRelease, ptr(`{"step_id":1,"claim_token":"x","extra":1}`), 5000)
	requireErr(t, bad, rcValidation, "validation", `unknown field "extra"`)

	reclaim := callJSON(exportStepClaim, ptr(claimJSON), 5000)
	requireOK(t, reclaim)
	var batch2 tt.ClaimResult
	handleJSON(t, reclaim.handle, &batch2)
	require.Len(t, batch2.Steps, 1)
	require.Equal(t, s.WorkflowStepID, batch2.Steps[0].WorkflowStepID)
	require.Equal(t, 1, batch2.Steps[0].Attempts)
}

// tasker_ping is a health check; with a server-side wait it honours the
// call's timeout, and concurrent callers do not wait for one another.
func TestPing(t *testing.T) {
	checkHandles(t)
	requireOK(t, callPing(0, 0))
	requireErr(t, callPing(-1, 0), rcValidation, "validation", "sleep_ms: must be within 0..60000, got -1")

	start := time.Now()
	requireErr(t, callPing(5000, 100), rcTimeout, "timeout", "timed out")
	require.Less(t, time.Since(start), 2*time.Second, "the timeout is honoured")

	start = time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			requireOK(t, callPing(300, 5000))
		}()
	}
	wg.Wait()
	require.Less(t, time.Since(start), 1000*time.Millisecond, "4 concurrent 300 ms pings overlap")
}

// requireAncestorResults checks, for the diamond's join d, that the claim
// carries the parents' results only and that tasker_step_ancestor_results
// gives the grandparent's, and names a step that is no ancestor.
func requireAncestorResults(t *testing.T, d tt.ClaimedStep) {
	t.Helper()
	require.Len(t, d.DependencyResults, 2, "the claim carries the direct parents b and c")
	c := callJSON(exportAncestorResults, ptr(fmt.Sprintf(`{"step_id":%d,"claim_token":%q,"names":["a","b"]}`, d.WorkflowStepID, d.ClaimToken)), 5000)
	requireOK(t, c)
	kind, kc := callHandleKind(c.handle)
	requireOK(t, kc)
	require.Equal(t, "AncestorResults", kind)
	n, nc := callHandleInt64(c.handle, ptr("count"))
	requireOK(t, nc)
	require.EqualValues(t, 2, n)
	var got AncestorResults
	handleJSON(t, c.handle, &got)
	require.Equal(t, d.WorkflowStepID, got.StepID)
	require.JSONEq(t, `{"step":"a"}`, string(got.Results["a"]))
	require.JSONEq(t, `{"step":"b"}`, string(got.Results["b"]))

	bad := callJSON(exportAncestorResults, ptr(fmt.Sprintf(`{"step_id":%d,"claim_token":%q,"names":["a","zz"]}`, d.WorkflowStepID, d.ClaimToken)), 5000)
	e := requireErr(t, bad, rcValidation, "validation", `names[1]: step "zz" is not an ancestor of "d"`)
	require.Equal(t, "names[1]", e.Details["field"])
}
