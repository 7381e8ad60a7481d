package store_test

// TestReadinessAgreesWithClaimPath proves that the two definitions of "ready"
// agree on random workflows: the readable one (the SQL function
// get_step_readiness_status, recomputed from transitions and edges) and the
// one the claim path uses (the incrementally maintained pending_parents and
// the generated column ready_at behind StepDispatchReady). A third oracle, a
// small Go model of the engine's rules, checks that both are also right:
// step states, attempts, task states and the results handed to children.
//
// Every iteration registers a random DAG, initializes 1-3 tasks and drives
// them with random actions (claims, completions, retryable and permanent
// failures, operator resolve/retry/cancel, claims by id, heartbeats, leases
// that expire under a dead worker, releases by a worker shutting down), then
// drains them to the end. After every action one transaction (so now() is
// fixed) compares:
//
//	A = steps with ready_for_execution from get_step_readiness_status
//	B = steps StepDispatchReady would claim (run in the transaction, rolled back)
//	C = steps the model says are ready
//
// The seed is logged; rerun a failure with
//
//	TASKER_SEED=<seed> go test ./core/store -run 'TestReadinessAgreesWithClaimPath/iter07' -count=1 -v
//
// TASKER_READINESS_ITERATIONS overrides the iteration count (default 40).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasker-systems/tasker-core-go/core/backoff"
	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/statemachine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// propLeaseMS is long enough that no lease of the test ever expires, so lease
// recovery (run by every claim, database wide) never touches its steps.
const propLeaseMS = int64(10 * time.Minute / time.Millisecond)

func TestReadinessAgreesWithClaimPath(t *testing.T) {
	t.Parallel()
	seed := envUint(t, "TASKER_SEED", uint64(time.Now().UnixNano()))
	iterations := int(envUint(t, "TASKER_READINESS_ITERATIONS", 40))
	if testing.Short() {
		iterations = min(iterations, 8)
	}
	t.Logf("seed %d, %d iterations; reproduce with TASKER_SEED=%d go test ./core/store -run TestReadinessAgreesWithClaimPath -count=1",
		seed, iterations, seed)
	pool := taskertest.Pool(t)

	var mu sync.Mutex
	var total agreementStats
	t.Cleanup(func() {
		t.Logf("seed %d: %d iterations, %d agreement checks, %d actions (%d claims, %d completions, %d retryable failures, "+
			"%d permanent failures, %d resolves, %d task retries, %d cancels, %d expired leases, %d releases, %d claims by id of which %d not ready); "+
			"ready sets: max %d, %d checks with a step in backoff",
			seed, iterations, total.checks, total.actions, total.claimed, total.completed, total.retryable, total.permanent,
			total.resolved, total.retriedTasks, total.cancelled, total.expired, total.released, total.claimByID, total.notReady, total.maxReady, total.withBackoff)
	})

	for i := range iterations {
		t.Run(fmt.Sprintf("iter%02d", i), func(t *testing.T) {
			t.Parallel()
			a := newAgreement(t, pool, seed, i)
			a.run()
			mu.Lock()
			total.add(&a.stats)
			mu.Unlock()
		})
	}
}

type agreementStats struct {
	checks, actions, claimed, completed, retryable, permanent, resolved int
	retriedTasks, cancelled, claimByID, notReady, maxReady, withBackoff int
	expired, released                                                   int
}

func (s *agreementStats) add(o *agreementStats) {
	s.checks += o.checks
	s.actions += o.actions
	s.claimed += o.claimed
	s.completed += o.completed
	s.retryable += o.retryable
	s.permanent += o.permanent
	s.resolved += o.resolved
	s.retriedTasks += o.retriedTasks
	s.cancelled += o.cancelled
	s.claimByID += o.claimByID
	s.notReady += o.notReady
	s.maxReady = max(s.maxReady, o.maxReady)
	s.withBackoff += o.withBackoff
	s.expired += o.expired
	s.released += o.released
}

// mTask and mStep are the model: what the engine's rules say each row holds.
type mTask struct {
	id       int64
	label    string // t0, t1, ...
	status   tt.TaskState
	steps    []*mStep
	priority int
}

type mStep struct {
	id        int64
	task      *mTask
	name      string
	parents   []*mStep
	children  []*mStep
	retryable bool
	limit     int
	status    tt.StepState
	attempts  int
	// immediate: a step waiting_for_retry whose backoff was zero, so it is
	// claimable at once; otherwise it waits an hour, longer than the test.
	immediate bool
	results   any // decoded; nil is JSON null
}

func (s *mStep) label() string { return fmt.Sprintf("%s/%s#%d", s.task.label, s.name, s.id) }

func (s *mStep) depsDone() bool {
	for _, p := range s.parents {
		if !p.status.Done() {
			return false
		}
	}
	return true
}

func (s *mStep) ready() bool {
	return s.depsDone() && (s.status == tt.StepPending || (s.status == tt.StepWaitingForRetry && s.immediate))
}

// active is the engine's notion of a step that can still make progress.
func (s *mStep) active() bool {
	switch s.status {
	case tt.StepInProgress, tt.StepWaitingForRetry:
		return true
	case tt.StepPending:
		return s.depsDone()
	}
	return false
}

func (s *mStep) ancestors() []*mStep {
	seen := map[*mStep]bool{}
	var out []*mStep
	var walk func(*mStep)
	walk = func(x *mStep) {
		for _, p := range x.parents {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
				walk(p)
			}
		}
	}
	walk(s)
	return out
}

// finalize is the model of engine.finalize.
func (m *mTask) finalize() {
	switch m.status {
	case tt.TaskCancelled, tt.TaskComplete, tt.TaskResolvedManually:
		return
	}
	var done, failed, active int
	for _, s := range m.steps {
		if s.status.Done() {
			done++
		}
		if s.status == tt.StepError {
			failed++
		}
		if s.active() {
			active++
		}
	}
	switch {
	case done == len(m.steps):
		m.status = tt.TaskComplete
	case active == 0 && failed > 0:
		m.status = tt.TaskError
	case m.status == tt.TaskError && active > 0:
		m.status = tt.TaskPending
	}
}

type heldClaim struct {
	step  *mStep
	token string
}

type agreement struct {
	t       *testing.T
	ctx     context.Context
	pool    *pgxpool.Pool
	e       *engine.Engine
	rng     *rand.Rand
	seed    uint64
	iter    int
	ns      string
	long    bool // engine backoff of an hour (else zero)
	tasks   []*mTask
	steps   []*mStep
	byID    map[int64]*mStep
	held    []heldClaim
	log     []string
	phase   string
	stats   agreementStats
	backoff backoff.Config
}

func newAgreement(t *testing.T, pool *pgxpool.Pool, seed uint64, iter int) *agreement {
	a := &agreement{
		t: t, ctx: context.Background(), pool: pool, seed: seed, iter: iter,
		rng:  rand.New(rand.NewPCG(seed, uint64(iter))),
		ns:   taskertest.Namespace(t) + "_" + strconv.Itoa(iter),
		byID: map[int64]*mStep{},
	}
	a.long = a.rng.IntN(2) == 0
	if a.long {
		a.backoff = backoff.Config{Base: time.Hour, Multiplier: 1, Max: time.Hour}
	} else {
		a.backoff = backoff.Config{Base: 0, Multiplier: 1, Max: 0}
	}
	e, err := engine.New(pool, engine.Config{Backoff: &a.backoff})
	if err != nil {
		t.Fatal(err)
	}
	a.e = e
	return a
}

func (a *agreement) logf(format string, args ...any) {
	a.log = append(a.log, fmt.Sprintf(format, args...))
}

// fatalf fails the iteration with the seed, the problem and the actions
// that led to it.
func (a *agreement) fatalf(format string, args ...any) {
	a.t.Helper()
	tail := a.log
	if len(tail) > 40 {
		tail = tail[len(tail)-40:]
	}
	a.t.Fatalf("seed %d iteration %d (%s backoff), %s phase: %s\nlast actions:\n  %s\nreproduce: TASKER_SEED=%d go test ./core/store -run 'TestReadinessAgreesWithClaimPath/iter%02d$' -count=1 -v",
		a.seed, a.iter, map[bool]string{true: "hour", false: "zero"}[a.long], a.phase,
		fmt.Sprintf(format, args...), strings.Join(tail, "\n  "), a.seed, a.iter)
}

func (a *agreement) must(err error, what string) {
	a.t.Helper()
	if err != nil {
		a.fatalf("%s: unexpected error: %v", what, err)
	}
}

func (a *agreement) run() {
	a.setup()
	a.phase = "random"
	a.check("initialize")
	maxActions := 20 + 8*len(a.steps)
	for range maxActions {
		if a.settled() {
			break
		}
		a.randomAction()
		a.stats.actions++
		a.check(a.log[len(a.log)-1])
	}
	a.phase = "drain"
	a.drain()
}

// setup registers a random DAG and initializes 1-3 tasks of it.
func (a *agreement) setup() {
	n := 2 + a.rng.IntN(24)
	density := 0.05 + a.rng.Float64()*0.35
	spec := &tt.TemplateSpec{Namespace: a.ns, Name: "random_dag", Version: "1.0.0"}
	type shape struct {
		parents   []int
		retryable bool
		limit     int
	}
	shapes := make([]shape, n)
	for j := range n {
		s := &shapes[j]
		for i := range j {
			if a.rng.Float64() < density {
				s.parents = append(s.parents, i)
			}
		}
		s.retryable = a.rng.IntN(10) < 7
		s.limit = 1 + a.rng.IntN(3)
		st := tt.StepSpec{Name: fmt.Sprintf("s%02d", j), Handler: fmt.Sprintf("Step%02dHandler", j),
			Retryable: &s.retryable, RetryLimit: &s.limit}
		for _, p := range s.parents {
			st.DependsOn = append(st.DependsOn, fmt.Sprintf("s%02d", p))
		}
		spec.Steps = append(spec.Steps, st)
	}
	_, err := a.e.RegisterTemplate(a.ctx, spec)
	a.must(err, "register template")

	tasks := 1 + a.rng.IntN(3)
	for k := range tasks {
		priority := a.rng.IntN(3)
		res, err := a.e.InitializeTask(a.ctx, &tt.TaskRequest{Namespace: a.ns, Name: "random_dag", Version: "1.0.0",
			Context: json.RawMessage(fmt.Sprintf(`{"task":%d}`, k)), Priority: priority})
		a.must(err, "initialize task")
		m := &mTask{id: res.TaskID, label: fmt.Sprintf("t%d", k), status: tt.TaskPending, priority: priority}
		for j, st := range spec.Steps {
			s := &mStep{id: res.StepMapping[st.Name], task: m, name: st.Name, retryable: shapes[j].retryable,
				limit: shapes[j].limit, status: tt.StepPending}
			if s.id == 0 {
				a.fatalf("initialize returned no id for step %s", st.Name)
			}
			m.steps = append(m.steps, s)
			a.steps = append(a.steps, s)
			a.byID[s.id] = s
		}
		for j, sh := range shapes {
			for _, p := range sh.parents {
				m.steps[j].parents = append(m.steps[j].parents, m.steps[p])
				m.steps[p].children = append(m.steps[p].children, m.steps[j])
			}
		}
		a.tasks = append(a.tasks, m)
	}
	edges := 0
	for _, sh := range shapes {
		edges += len(sh.parents)
	}
	a.logf("setup: %d steps, %d edges, %d tasks, %s backoff", n, edges, tasks, map[bool]string{true: "hour", false: "zero"}[a.long])
}

// settled: every task is finished, or in error with nothing claimed.
func (a *agreement) settled() bool {
	if len(a.held) > 0 {
		return false
	}
	for _, m := range a.tasks {
		switch m.status {
		case tt.TaskComplete, tt.TaskCancelled, tt.TaskError:
		default:
			return false
		}
	}
	return true
}

func (a *agreement) randomAction() {
	r := a.rng.IntN(100)
	switch {
	case r < 30:
		a.claimBatch(1 + a.rng.IntN(4))
	case r < 65:
		if len(a.held) == 0 {
			a.claimBatch(1 + a.rng.IntN(4))
			return
		}
		a.report(a.rng.IntN(len(a.held)), "")
	case r < 75:
		a.claimByID()
	case r < 83:
		a.resolve()
	case r < 89:
		a.retryTask()
	case r < 91:
		a.cancelTask()
	case r < 93:
		a.heartbeat()
	case r < 95:
		a.expireLease()
	case r < 97:
		a.release()
	default:
		a.logf("sit (%d claims held)", len(a.held))
	}
}

func (a *agreement) modelReady() []*mStep {
	var out []*mStep
	for _, s := range a.steps {
		if s.ready() {
			out = append(out, s)
		}
	}
	return out
}

func (a *agreement) claimBatch(limit int) {
	ready := a.modelReady()
	res, err := a.e.ClaimSteps(a.ctx, &tt.ClaimParams{Namespaces: []string{a.ns}, Limit: limit, WorkerID: "prop", LeaseMS: propLeaseMS})
	a.must(err, "claim steps")
	var names []string
	for i := range res.Steps {
		c := &res.Steps[i]
		names = append(names, a.label(c.WorkflowStepID))
	}
	a.logf("claim limit %d → %v", limit, names)
	if want := min(limit, len(ready)); len(res.Steps) != want {
		a.fatalf("claim with limit %d took %d steps, the model has %d ready: %v", limit, len(res.Steps), len(ready), labels(ready))
	}
	for i := range res.Steps {
		a.claimed(&res.Steps[i])
	}
}

func (a *agreement) label(id int64) string {
	if s := a.byID[id]; s != nil {
		return s.label()
	}
	return fmt.Sprintf("foreign#%d", id)
}

func labels(steps []*mStep) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.label()
	}
	return out
}

// claimed applies a claim to the model and checks its payload.
func (a *agreement) claimed(c *tt.ClaimedStep) {
	s := a.byID[c.WorkflowStepID]
	if s == nil {
		a.fatalf("claimed step %d of another test (namespace %s)", c.WorkflowStepID, c.Namespace)
	}
	if !s.ready() {
		a.fatalf("claimed %s, which the model says is not ready (state %s)", s.label(), s.status)
	}
	s.status, s.attempts, s.immediate = tt.StepInProgress, s.attempts+1, false
	if s.task.status == tt.TaskPending {
		s.task.status = tt.TaskInProgress
	}
	a.held = append(a.held, heldClaim{step: s, token: c.ClaimToken})
	a.stats.claimed++
	if c.Attempts != s.attempts || c.Retryable != s.retryable || c.RetryLimit != s.limit || c.StepName != s.name || c.TaskID != s.task.id {
		a.fatalf("claim of %s: got attempts %d retryable %v limit %d name %s task %d, want %d %v %d %s %d", s.label(),
			c.Attempts, c.Retryable, c.RetryLimit, c.StepName, c.TaskID, s.attempts, s.retryable, s.limit, s.name, s.task.id)
	}
	// The parents' results come with the claim, every other ancestor's on
	// request; each exactly as stored.
	if len(c.DependencyResults) != len(s.parents) {
		a.fatalf("claim of %s: dependency results for %d steps, it has %d parents", s.label(), len(c.DependencyResults), len(s.parents))
	}
	anc := s.ancestors()
	names := make([]string, len(anc))
	for i, p := range anc {
		names[i] = p.name
	}
	var fetched map[string]json.RawMessage
	if len(names) > 0 {
		var err error
		fetched, err = a.e.AncestorResults(a.ctx, &tt.AncestorResultsParams{StepID: c.WorkflowStepID, ClaimToken: c.ClaimToken, Names: names})
		if err != nil {
			a.fatalf("ancestor results of %s: %v", s.label(), err)
		}
	}
	for _, p := range anc {
		raw, ok := fetched[p.name]
		if !ok {
			a.fatalf("claim of %s: no results of ancestor %s on request", s.label(), p.name)
		}
		if slices.Contains(s.parents, p) {
			if inClaim, ok := c.DependencyResults[p.name]; !ok || !bytes.Equal(inClaim, raw) {
				a.fatalf("claim of %s: parent %s's results are %s in the claim, %s on request", s.label(), p.name, inClaim, raw)
			}
		}
		var got any
		if err := json.Unmarshal(raw, &got); err != nil {
			a.fatalf("claim of %s: dependency result of %s is not JSON: %v", s.label(), p.name, err)
		}
		if !reflect.DeepEqual(got, p.results) {
			a.fatalf("claim of %s: dependency result of %s is %s, want %v", s.label(), p.name, raw, p.results)
		}
	}
}

func (a *agreement) dropHeld(i int) heldClaim {
	h := a.held[i]
	a.held = slices.Delete(a.held, i, i+1)
	return h
}

// report completes or fails the i-th held claim; kind "" picks at random.
func (a *agreement) report(i int, kind string) {
	h := a.dropHeld(i)
	s := h.step
	if kind == "" {
		switch r := a.rng.IntN(100); {
		case r < 55:
			kind = "complete"
		case r < 85:
			kind = "retryable"
		default:
			kind = "permanent"
		}
	}
	var (
		res *tt.StepResult
		err error
	)
	var requested *float64
	switch kind {
	case "complete":
		results := map[string]any{"step": s.name, "attempt": s.attempts, "task": s.task.label}
		raw, _ := json.Marshal(results)
		res, err = a.e.CompleteStep(a.ctx, &tt.CompleteParams{StepID: s.id, ClaimToken: h.token, Results: raw})
		a.logf("complete %s → %v", s.label(), errOr(err, res))
	default:
		switch a.rng.IntN(3) {
		case 0:
			v := 0.0
			requested = &v
		case 1:
			v := 3600.0
			requested = &v
		}
		res, err = a.e.FailStep(a.ctx, &tt.FailParams{StepID: s.id, ClaimToken: h.token, Permanent: kind == "permanent",
			BackoffSeconds: requested, Error: tt.StepFailure{Class: "PropError", Message: "random " + kind + " failure"}})
		a.logf("fail %s %s (backoff request %s) → %v", kind, s.label(), fmtReq(requested), errOr(err, res))
	}
	if s.status == tt.StepCancelled { // its task was cancelled under the worker
		var stale *tt.StaleClaimError
		if !errors.As(err, &stale) {
			a.fatalf("report on %s of a cancelled task: got %v, want a stale claim error", s.label(), err)
		}
		return
	}
	a.must(err, "report on "+s.label())
	switch kind {
	case "complete":
		s.status = tt.StepComplete
		raw, _ := json.Marshal(map[string]any{"step": s.name, "attempt": s.attempts, "task": s.task.label})
		_ = json.Unmarshal(raw, &s.results)
		a.stats.completed++
	case "retryable":
		a.stats.retryable++
		if s.retryable && s.attempts < s.limit {
			s.status = tt.StepWaitingForRetry
			s.immediate = a.backoff.Delay(s.attempts, requested) == 0
		} else {
			s.status = tt.StepError
		}
	case "permanent":
		a.stats.permanent++
		s.status = tt.StepError
	}
	s.task.finalize()
	if res.Status != s.status || res.TaskStatus != s.task.status || res.Attempts != s.attempts {
		a.fatalf("report on %s returned step %s task %s attempts %d, the model has %s %s %d", s.label(),
			res.Status, res.TaskStatus, res.Attempts, s.status, s.task.status, s.attempts)
	}
	if s.status == tt.StepWaitingForRetry && (res.NextRetryAt == nil) {
		a.fatalf("retryable failure of %s returned no next_retry_at", s.label())
	}
}

func fmtReq(r *float64) string {
	if r == nil {
		return "none"
	}
	return strconv.FormatFloat(*r, 'f', -1, 64) + "s"
}

func errOr(err error, res *tt.StepResult) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("step %s, task %s", res.Status, res.TaskStatus)
}

func (a *agreement) pickStep() *mStep {
	if ready := a.modelReady(); len(ready) > 0 && a.rng.IntN(2) == 0 {
		return ready[a.rng.IntN(len(ready))]
	}
	return a.steps[a.rng.IntN(len(a.steps))]
}

// claimByID claims one step by id: it must succeed exactly when the step is
// ready, and otherwise say why in the model's terms.
func (a *agreement) claimByID() {
	s := a.pickStep()
	wasReady := s.ready()
	c, err := a.e.ClaimStep(a.ctx, &tt.ClaimOneParams{StepID: s.id, WorkerID: "prop-one", LeaseMS: propLeaseMS})
	a.stats.claimByID++
	if wasReady {
		a.logf("claim by id %s (ready) → %v", s.label(), err)
		a.must(err, "claim ready step "+s.label())
		a.claimed(c)
		return
	}
	a.stats.notReady++
	var nr *tt.NotReadyError
	if !errors.As(err, &nr) {
		a.fatalf("claim by id of %s (%s, not ready in the model): got %v, want a not-ready error", s.label(), s.status, err)
	}
	a.logf("claim by id %s (not ready) → %s", s.label(), nr.Reason)
	var want tt.NotReadyReason
	var unmet []string
	switch {
	case s.status == tt.StepInProgress:
		want = tt.NotReadyClaimed
	case statemachine.StepTerminal(s.status):
		want = tt.NotReadyDone
	case s.status == tt.StepError:
		want = tt.NotReadyBlocked
	case !s.depsDone():
		want = tt.NotReadyDependencies
		for _, p := range s.parents {
			if !p.status.Done() {
				unmet = append(unmet, p.name)
			}
		}
		slices.Sort(unmet)
	case s.status == tt.StepWaitingForRetry:
		want = tt.NotReadyBackoff
	default:
		a.fatalf("model: %s is %s and not ready for no reason", s.label(), s.status)
	}
	if nr.Reason != want || nr.Status != s.status || !slices.Equal(nr.UnmetParents, unmet) {
		a.fatalf("claim by id of %s: not ready because %s (status %s, unmet %v), the model says %s (status %s, unmet %v)",
			s.label(), nr.Reason, nr.Status, nr.UnmetParents, want, s.status, unmet)
	}
	if want == tt.NotReadyBackoff && nr.RetryAt == nil {
		a.fatalf("claim by id of %s: in backoff without a retry time", s.label())
	}
}

// resolve resolves a step manually: usually a failed one, sometimes any.
func (a *agreement) resolve() {
	var s *mStep
	var failed []*mStep
	for _, x := range a.steps {
		if x.status == tt.StepError {
			failed = append(failed, x)
		}
	}
	if len(failed) > 0 && a.rng.IntN(10) < 7 {
		s = failed[a.rng.IntN(len(failed))]
	} else {
		s = a.steps[a.rng.IntN(len(a.steps))]
	}
	a.resolveStep(s)
}

func (a *agreement) resolveStep(s *mStep) {
	var results json.RawMessage
	if a.rng.IntN(2) == 0 {
		results = json.RawMessage(fmt.Sprintf(`{"resolved_by":"operator","step":%q}`, s.name))
	}
	res, err := a.e.ResolveStep(a.ctx, &tt.ResolveStepParams{StepID: s.id, Reason: "prop test", Results: results})
	a.logf("resolve %s (%s, results %v) → %v", s.label(), s.status, results != nil, errOr(err, res))
	if statemachine.CheckStep(s.id, statemachine.EventResolvedManually, s.status, tt.StepResolvedManually) != nil {
		var inv *tt.InvalidTransitionError
		if !errors.As(err, &inv) {
			a.fatalf("resolve of %s in %s: got %v, want an invalid transition error", s.label(), s.status, err)
		}
		return
	}
	a.must(err, "resolve "+s.label())
	a.stats.resolved++
	s.status, s.immediate = tt.StepResolvedManually, false
	if results != nil {
		s.results = nil
		_ = json.Unmarshal(results, &s.results)
	}
	s.task.finalize()
	if res.Status != tt.StepResolvedManually || res.TaskStatus != s.task.status {
		a.fatalf("resolve of %s returned step %s task %s, the model has task %s", s.label(), res.Status, res.TaskStatus, s.task.status)
	}
}

func (a *agreement) pickTask(prefer tt.TaskState) *mTask {
	var pref []*mTask
	for _, m := range a.tasks {
		if m.status == prefer {
			pref = append(pref, m)
		}
	}
	if len(pref) > 0 && a.rng.IntN(10) < 8 {
		return pref[a.rng.IntN(len(pref))]
	}
	return a.tasks[a.rng.IntN(len(a.tasks))]
}

// retryTask retries a task, usually one in error; a task in any other state
// (even in_progress, which finalization may move to pending) must be an
// invalid transition: an operator never resets a running task's steps.
func (a *agreement) retryTask() { a.retry(a.pickTask(tt.TaskError)) }

func (a *agreement) retry(m *mTask) {
	st, err := a.e.RetryTask(a.ctx, &tt.RetryTaskParams{TaskID: m.id, Reason: "prop test"})
	a.logf("retry task %s (%s) → %v", m.label, m.status, err)
	if m.status != tt.TaskError {
		var inv *tt.InvalidTransitionError
		if !errors.As(err, &inv) {
			a.fatalf("retry of task %s in %s: got %v, want an invalid transition error", m.label, m.status, err)
		}
		return
	}
	a.must(err, "retry task "+m.label)
	a.stats.retriedTasks++
	m.status = tt.TaskPending
	for _, s := range m.steps {
		if s.status == tt.StepError {
			s.status, s.attempts, s.immediate = tt.StepPending, 0, false
		}
	}
	if st.Status != m.status {
		a.fatalf("retry of task %s returned status %s, want %s", m.label, st.Status, m.status)
	}
}

func (a *agreement) cancelTask() {
	m := a.tasks[a.rng.IntN(len(a.tasks))]
	st, err := a.e.CancelTask(a.ctx, &tt.CancelTaskParams{TaskID: m.id, Reason: "prop test"})
	a.logf("cancel task %s (%s) → %v", m.label, m.status, err)
	if !statemachine.TaskAllowed(m.status, tt.TaskCancelled) {
		var inv *tt.InvalidTransitionError
		if !errors.As(err, &inv) {
			a.fatalf("cancel of task %s in %s: got %v, want an invalid transition error", m.label, m.status, err)
		}
		return
	}
	a.must(err, "cancel task "+m.label)
	a.stats.cancelled++
	m.status = tt.TaskCancelled
	for _, s := range m.steps {
		if statemachine.CheckStep(s.id, statemachine.EventCancelled, s.status, tt.StepCancelled) == nil {
			s.status, s.immediate = tt.StepCancelled, false
		}
	}
	if st.Status != tt.TaskCancelled {
		a.fatalf("cancel of task %s returned status %s", m.label, st.Status)
	}
}

func (a *agreement) heartbeat() {
	if len(a.held) == 0 {
		a.logf("heartbeat: nothing held")
		return
	}
	h := a.held[a.rng.IntN(len(a.held))]
	_, err := a.e.Heartbeat(a.ctx, &tt.HeartbeatParams{StepID: h.step.id, ClaimToken: h.token, LeaseMS: propLeaseMS})
	a.logf("heartbeat %s → %v", h.step.label(), err)
	if h.step.status == tt.StepCancelled {
		var stale *tt.StaleClaimError
		if !errors.As(err, &stale) {
			a.fatalf("heartbeat on %s of a cancelled task: got %v, want a stale claim error", h.step.label(), err)
		}
		return
	}
	a.must(err, "heartbeat "+h.step.label())
}

// expireLease plays a worker that died holding a claim: its lease is moved
// into the past and the engine's recovery returns the step to the ready set
// (the lost attempt counts) or, with no attempts left, fails it. The dead
// worker's late report must then be rejected as stale.
//
// Recovery is database wide, so a parallel iteration's claim may recover the
// step first; and it finalizes the task in a second transaction after the
// one that recovers the step. The action therefore waits (up to 5 s) until
// the rows show the outcome before the agreement check runs.
func (a *agreement) expireLease() {
	var live []int
	for i, h := range a.held {
		if h.step.status == tt.StepInProgress {
			live = append(live, i)
		}
	}
	if len(live) == 0 {
		a.logf("expire lease: nothing held")
		return
	}
	h := a.dropHeld(live[a.rng.IntN(len(live))])
	s := h.step
	_, err := a.pool.Exec(a.ctx, `UPDATE tasker_workflow_steps SET lease_expires_at = now() - interval '1 second'
		WHERE workflow_step_id = $1 AND status = 'in_progress'`, s.id)
	a.must(err, "expire lease")
	n, err := a.e.RecoverExpiredLeases(a.ctx)
	a.must(err, "recover expired leases")
	if s.retryable && s.attempts < s.limit {
		s.status, s.immediate = tt.StepWaitingForRetry, true
	} else {
		s.status = tt.StepError
	}
	s.task.finalize()
	a.logf("expire lease of %s → recovered %d (here), model: step %s task %s", s.label(), n, s.status, s.task.status)
	a.stats.expired++
	deadline := time.Now().Add(5 * time.Second)
	for {
		var status, taskStatus string
		err := a.pool.QueryRow(a.ctx, `SELECT ws.status, t.status FROM tasker_workflow_steps ws
			JOIN tasker_tasks t ON t.task_id = ws.task_id WHERE ws.workflow_step_id = $1`, s.id).Scan(&status, &taskStatus)
		a.must(err, "read recovered step")
		if status == string(s.status) && taskStatus == string(s.task.status) {
			break
		}
		if time.Now().After(deadline) {
			a.fatalf("lease recovery of %s: step is %s and task %s after 5 s, the model has %s and %s",
				s.label(), status, taskStatus, s.status, s.task.status)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if a.rng.IntN(2) == 0 {
		_, err := a.e.CompleteStep(a.ctx, &tt.CompleteParams{StepID: s.id, ClaimToken: h.token, Results: json.RawMessage(`{"late":true}`)})
		var stale *tt.StaleClaimError
		if !errors.As(err, &stale) {
			a.fatalf("late report of %s after its lease expired: got %v, want a stale claim error", s.label(), err)
		}
		a.logf("late report of %s → stale claim", s.label())
	}
}

// release gives back a held step, as a worker shutting down does: it is
// pending again at once and the claim's attempt is returned.
func (a *agreement) release() {
	if len(a.held) == 0 {
		a.logf("release: nothing held")
		return
	}
	h := a.dropHeld(a.rng.IntN(len(a.held)))
	s := h.step
	res, err := a.e.ReleaseStep(a.ctx, &tt.ReleaseParams{StepID: s.id, ClaimToken: h.token, Reason: "prop test shutdown"})
	a.logf("release %s → %v", s.label(), errOr(err, res))
	if s.status == tt.StepCancelled {
		var stale *tt.StaleClaimError
		if !errors.As(err, &stale) {
			a.fatalf("release of %s of a cancelled task: got %v, want a stale claim error", s.label(), err)
		}
		return
	}
	a.must(err, "release "+s.label())
	a.stats.released++
	s.status, s.attempts, s.immediate = tt.StepPending, s.attempts-1, false
	s.task.finalize()
	if res.Status != s.status || res.Attempts != s.attempts || res.TaskStatus != s.task.status {
		a.fatalf("release of %s returned step %s attempts %d task %s, the model has %s %d %s", s.label(),
			res.Status, res.Attempts, res.TaskStatus, s.status, s.attempts, s.task.status)
	}
}

// drain runs every task to its end: report what is held, claim and complete
// what is ready, and unblock the rest as an operator would. A task that can
// neither progress nor be unblocked is stranded: a readiness bug.
func (a *agreement) drain() {
	for round := 0; ; round++ {
		if round > 20*len(a.steps)+50 {
			a.fatalf("drain did not finish")
		}
		switch {
		case len(a.held) > 0:
			a.report(0, "complete")
		case len(a.modelReady()) > 0:
			a.claimBatch(1 + a.rng.IntN(8))
		default:
			if !a.unblock() {
				for _, m := range a.tasks {
					if m.status != tt.TaskComplete && m.status != tt.TaskCancelled {
						a.fatalf("task %s is %s with nothing ready, claimed, failed or in backoff: stranded", m.label, m.status)
					}
				}
				return
			}
		}
		a.stats.actions++
		a.check(a.log[len(a.log)-1])
	}
}

// unblock takes one operator action on a stuck task; false when none is left.
func (a *agreement) unblock() bool {
	for _, m := range a.tasks {
		if m.status == tt.TaskCancelled || m.status == tt.TaskComplete {
			continue
		}
		for _, s := range m.steps {
			switch {
			case s.status == tt.StepError && m.status == tt.TaskError && a.rng.IntN(2) == 0:
				a.retry(m)
				return true
			case s.status == tt.StepError, s.status == tt.StepWaitingForRetry && !s.immediate:
				a.resolveStep(s)
				return true
			}
		}
	}
	return false
}

type stepRow struct {
	status         tt.StepState
	attempts       int
	pendingParents int
	inProcess      bool
	processed      bool
	readyNow       bool
}

type taskRow struct {
	status   tt.TaskState
	complete bool
	lastTo   string
}

// check compares A, B and C, and the rows with the model, in one transaction.
func (a *agreement) check(after string) {
	a.t.Helper()
	a.stats.checks++
	ctx := a.ctx
	tx, err := a.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	a.must(err, "begin check")
	defer func() { _ = tx.Rollback(ctx) }()

	taskIDs := make([]int64, len(a.tasks))
	for i, m := range a.tasks {
		taskIDs[i] = m.id
	}
	fn := map[int64]tt.StepReadiness{}
	setA := map[int64]bool{}
	execCtx := map[int64]*tt.TaskExecutionContext{}
	for _, m := range a.tasks {
		rows, err := store.StepReadiness(ctx, tx, m.id, nil)
		a.must(err, "get_step_readiness_status")
		for _, r := range rows {
			fn[r.WorkflowStepID] = r
			if r.ReadyForExecution {
				setA[r.WorkflowStepID] = true
			}
		}
		execCtx[m.id], err = store.TaskExecutionContext(ctx, tx, m.id)
		a.must(err, "get_task_execution_context")
	}

	cols := map[int64]stepRow{}
	rows, err := tx.Query(ctx, `
		SELECT workflow_step_id, status, attempts, pending_parents, in_process, processed,
		       ready_at IS NOT NULL AND ready_at <= now()
		  FROM tasker_workflow_steps WHERE task_id = ANY ($1)`, taskIDs)
	a.must(err, "read steps")
	var id int64
	var r stepRow
	_, err = pgx.ForEachRow(rows, []any{&id, &r.status, &r.attempts, &r.pendingParents, &r.inProcess, &r.processed, &r.readyNow},
		func() error { cols[id] = r; return nil })
	a.must(err, "read steps")

	tasks := map[int64]taskRow{}
	rows, err = tx.Query(ctx, `
		SELECT t.task_id, t.status, t.complete, coalesce(tr.to_state, '')
		  FROM tasker_tasks t
		  LEFT JOIN tasker_task_transitions tr ON tr.task_id = t.task_id AND tr.most_recent
		 WHERE t.task_id = ANY ($1)`, taskIDs)
	a.must(err, "read tasks")
	var tr taskRow
	_, err = pgx.ForEachRow(rows, []any{&id, &tr.status, &tr.complete, &tr.lastTo}, func() error { tasks[id] = tr; return nil })
	a.must(err, "read tasks")

	claimIDs, err := store.ClaimReadyIDs(ctx, tx, &store.StepDispatchParams{
		Namespaces: []string{a.ns}, Limit: 1000, WorkerID: "probe", LeaseMS: 1000})
	a.must(err, "StepDispatchReady probe")
	a.must(tx.Rollback(ctx), "rollback probe")
	setB := map[int64]bool{}
	for _, id := range claimIDs {
		if setB[id] {
			a.fatalf("after %q: StepDispatchReady returned step %d twice", after, id)
		}
		setB[id] = true
	}

	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	for id := range setB {
		if a.byID[id] == nil {
			bad("claim path took step %d of another namespace", id)
		}
	}
	inBackoff := false
	for _, s := range a.steps {
		f, ok := fn[s.id]
		c, okc := cols[s.id]
		if !ok || !okc {
			bad("%s: missing from the readiness function (%v) or the table (%v)", s.label(), ok, okc)
			continue
		}
		inA, inB, inC := setA[s.id], setB[s.id], s.ready()
		if inA != inB || inA != inC || inA != c.readyNow {
			bad("%s: ready per function=%v claim path=%v model=%v ready_at=%v; function row: state=%s deps_satisfied=%v "+
				"(%d/%d parents done) retry_eligible=%v attempts=%d/%d next_retry_at=%v; columns: status=%s pending_parents=%d "+
				"in_process=%v processed=%v; model: status=%s immediate=%v",
				s.label(), inA, inB, inC, c.readyNow, f.CurrentState, f.DependenciesSatisfied, f.CompletedParents, f.TotalParents,
				f.RetryEligible, f.Attempts, f.RetryLimit, fmtTime(f.NextRetryAt), c.status, c.pendingParents, c.inProcess,
				c.processed, s.status, s.immediate)
		}
		if f.CurrentState != c.status || c.status != s.status {
			bad("%s: state per transitions=%s status column=%s model=%s", s.label(), f.CurrentState, c.status, s.status)
		}
		if c.attempts != s.attempts || f.Attempts != s.attempts {
			bad("%s: attempts column=%d function=%d model=%d", s.label(), c.attempts, f.Attempts, s.attempts)
		}
		if want := f.TotalParents - f.CompletedParents; c.pendingParents != want || f.TotalParents != len(s.parents) {
			bad("%s: pending_parents=%d but %d of %d parents are not done (model: %d parents)", s.label(), c.pendingParents,
				want, f.TotalParents, len(s.parents))
		}
		if c.inProcess != (c.status == tt.StepInProgress) {
			bad("%s: in_process=%v in status %s", s.label(), c.inProcess, c.status)
		}
		if wantProcessed := c.status.Done() || c.status == tt.StepCancelled; c.processed != wantProcessed {
			bad("%s: processed=%v in status %s", s.label(), c.processed, c.status)
		}
		if s.status == tt.StepWaitingForRetry && !s.immediate {
			inBackoff = true
		}
	}

	for _, m := range a.tasks {
		row, ec := tasks[m.id], execCtx[m.id]
		if row.status != m.status || row.lastTo != string(row.status) || ec.Status != row.status {
			bad("task %s: status column=%s most recent transition=%s execution context=%s model=%s",
				m.label, row.status, row.lastTo, ec.Status, m.status)
		}
		if row.complete != (row.status == tt.TaskComplete) {
			bad("task %s: complete=%v in status %s", m.label, row.complete, row.status)
		}
		ready := 0
		for _, s := range m.steps {
			if setA[s.id] {
				ready++
			}
		}
		if ec.ReadySteps != ready {
			bad("task %s: execution context counts %d ready steps, the function rows %d", m.label, ec.ReadySteps, ready)
		}
		x := ec.ExecutionStatus
		switch row.status {
		case tt.TaskCancelled:
			if x != tt.ExecCancelled {
				bad("task %s is cancelled but its execution status is %s", m.label, x)
			}
		case tt.TaskComplete:
			if x != tt.ExecAllComplete {
				bad("task %s is complete but its execution status is %s", m.label, x)
			}
		case tt.TaskError:
			if x != tt.ExecBlockedByFailures {
				bad("task %s is in error but its execution status is %s (%d ready, %d in progress, %d waiting, %d failed)",
					m.label, x, ec.ReadySteps, ec.InProgressSteps, ec.WaitingForRetrySteps, ec.FailedSteps)
			}
		default:
			if x == tt.ExecAllComplete || x == tt.ExecBlockedByFailures || x == tt.ExecCancelled {
				bad("task %s is %s but its execution status is %s: finalization missed it", m.label, row.status, x)
			}
		}
	}
	if len(problems) > 0 {
		a.fatalf("after %q the readiness views disagree:\n  %s", after, strings.Join(problems, "\n  "))
	}
	a.stats.maxReady = max(a.stats.maxReady, len(setA))
	if inBackoff {
		a.stats.withBackoff++
	}
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "null"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func envUint(t *testing.T, name string, def uint64) uint64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return v
}
