package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// requestBundle is an engine on a database of the test's own: a take-up
// takes every pending request of its database, so tests that count what it
// took must not share one.
type requestBundle struct {
	eng *engine.Engine
	ns  string
}

func setupRequests(t *testing.T) *requestBundle {
	t.Helper()
	pool, _ := taskertest.FreshDatabase(t)
	eng, err := engine.New(pool, engine.Config{Backoff: taskertest.FastBackoff()})
	require.NoError(t, err)
	_, err = eng.Migrate(context.Background())
	require.NoError(t, err)
	b := &requestBundle{eng: eng, ns: taskertest.Namespace(t)}
	_, err = eng.RegisterTemplate(context.Background(), &tt.TemplateSpec{
		Namespace: b.ns, Name: "order", Version: "1.0.0",
		ContextSchema: json.RawMessage(`{"type":"object","required":["order_id"],"properties":{"order_id":{"type":"integer"}}}`),
		Steps:         []tt.StepSpec{{Name: "charge", Handler: "Charge"}, {Name: "ship", Handler: "Ship", DependsOn: []string{"charge"}}},
	})
	require.NoError(t, err)
	return b
}

// request inserts a task request in its own committed transaction, as an
// application's connection would.
func (b *requestBundle) request(t *testing.T, raw string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, pgx.BeginFunc(context.Background(), b.eng.Pool(), func(tx pgx.Tx) error {
		var err error
		id, err = store.TaskRequestInsert(context.Background(), tx, []byte(raw))
		return err
	}))
	return id
}

func (b *requestBundle) order(orderID int, extra string) string {
	return fmt.Sprintf(`{"namespace":%q,"name":"order","context":{"order_id":%d}%s}`, b.ns, orderID, extra)
}

func (b *requestBundle) get(t *testing.T, id int64) *tt.TaskRequestStatus {
	t.Helper()
	s, err := b.eng.TaskRequest(context.Background(), id)
	require.NoError(t, err)
	return s
}

func (b *requestBundle) taskCount(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, b.eng.Pool().QueryRow(context.Background(), "SELECT count(*) FROM tasker_tasks").Scan(&n))
	return n
}

func TestTaskRequestRolledBackLeavesNothingCommittedBecomesATask(t *testing.T) {
	t.Parallel()
	b := setupRequests(t)
	ctx := context.Background()

	tx, err := b.eng.Pool().Begin(ctx)
	require.NoError(t, err)
	_, err = store.TaskRequestInsert(ctx, tx, []byte(b.order(1, "")))
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))

	res, err := b.eng.TakeUpTaskRequests(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, res.Requests, "a rolled-back request must not be taken up")
	require.Zero(t, b.taskCount(t))

	id := b.request(t, b.order(1, `,"initiator":"checkout","tags":["web"]`))
	pending := b.get(t, id)
	require.Equal(t, tt.TaskRequestPending, pending.Status)
	require.Equal(t, b.ns, pending.Namespace)
	require.Nil(t, pending.TaskID)

	res, err = b.eng.TakeUpTaskRequests(ctx, 10)
	require.NoError(t, err)
	require.Len(t, res.Requests, 1)
	require.Equal(t, tt.TaskRequestCreated, res.Requests[0].Status)

	got := b.get(t, id)
	require.Equal(t, tt.TaskRequestCreated, got.Status)
	require.NotNil(t, got.TaskID)
	require.NotNil(t, got.ProcessedAt)
	require.Nil(t, got.Error)
	task, err := b.eng.TaskStatus(ctx, *got.TaskID)
	require.NoError(t, err)
	require.Equal(t, "checkout", task.Initiator)
	require.Equal(t, []string{"web"}, task.Tags)
	require.JSONEq(t, `{"order_id":1}`, string(task.Context))

	// The steps are claimable as after initialize_task.
	claim, err := b.eng.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{b.ns}, Limit: 10, WorkerID: "w"})
	require.NoError(t, err)
	require.Len(t, claim.Steps, 1)
	require.Equal(t, "charge", claim.Steps[0].StepName)
	require.Equal(t, *got.TaskID, claim.Steps[0].TaskID)

	// A taken request is not taken again.
	res, err = b.eng.TakeUpTaskRequests(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, res.Requests)
	require.Equal(t, 1, b.taskCount(t))
}

func TestTaskRequestRacingTakersMakeOneTaskEach(t *testing.T) {
	t.Parallel()
	b := setupRequests(t)
	ctx := context.Background()
	const n = 60
	ids := make([]int64, n)
	for i := range n {
		ids[i] = b.request(t, b.order(i, ""))
	}

	var mu sync.Mutex
	takenBy := map[int64]int{} // request id -> how many rounds reported it
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				res, err := b.eng.TakeUpTaskRequests(ctx, 7)
				if !assertNoError(t, err) || len(res.Requests) == 0 {
					return
				}
				mu.Lock()
				for _, o := range res.Requests {
					takenBy[o.TaskRequestID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	require.Len(t, takenBy, n)
	tasks := map[int64]bool{}
	for _, id := range ids {
		require.Equal(t, 1, takenBy[id], "request %d reported by %d rounds", id, takenBy[id])
		got := b.get(t, id)
		require.Equal(t, tt.TaskRequestCreated, got.Status)
		require.False(t, tasks[*got.TaskID], "task %d made from two requests", *got.TaskID)
		tasks[*got.TaskID] = true
	}
	require.Equal(t, n, b.taskCount(t), "one task per request")
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("take up: %v", err)
		return false
	}
	return true
}

func TestTaskRequestsThatCannotSucceedAreKeptWithTheirError(t *testing.T) {
	t.Parallel()
	b := setupRequests(t)
	ctx := context.Background()

	good := b.request(t, b.order(1, ""))
	unknown := b.request(t, fmt.Sprintf(`{"namespace":%q,"name":"no_such_template","context":{}}`, b.ns))
	badContext := b.request(t, fmt.Sprintf(`{"namespace":%q,"name":"order","context":{"order_id":"seven"}}`, b.ns))
	unknownField := b.request(t, b.order(2, `,"colour":"red"`))
	noKey := b.request(t, b.order(3, `,"identity_strategy":"caller_provided"`))
	good2 := b.request(t, b.order(4, ""))

	res, err := b.eng.TakeUpTaskRequests(ctx, 100)
	require.NoError(t, err)
	require.Len(t, res.Requests, 6)
	require.Equal(t, 2, res.Count(tt.TaskRequestCreated), "a bad request must not roll back its neighbours")
	require.Equal(t, 4, res.Count(tt.TaskRequestFailed))

	for id, want := range map[int64]struct {
		code  tt.Code
		field string
	}{
		unknown:      {tt.CodeNotFound, ""},
		badContext:   {tt.CodeValidation, "context.order_id"},
		unknownField: {tt.CodeValidation, "colour"},
		noKey:        {tt.CodeValidation, "idempotency_key"},
	} {
		got := b.get(t, id)
		require.Equal(t, tt.TaskRequestFailed, got.Status, "request %d", id)
		require.NotNil(t, got.Error, "request %d", id)
		require.Equal(t, want.code, got.Error.Code, "request %d: %s", id, got.Error.Message)
		if want.field != "" {
			require.Equal(t, want.field, got.Error.Details["field"], "request %d: %s", id, got.Error.Message)
		}
		require.Nil(t, got.TaskID)
		require.Equal(t, 1, got.Attempts)
	}
	require.Equal(t, tt.TaskRequestCreated, b.get(t, good).Status)
	require.Equal(t, tt.TaskRequestCreated, b.get(t, good2).Status)
	require.Equal(t, 2, b.taskCount(t))

	// Not retried forever: the next round finds nothing.
	res, err = b.eng.TakeUpTaskRequests(ctx, 100)
	require.NoError(t, err)
	require.Empty(t, res.Requests)

	// Visible to an operator, oldest first.
	list, err := b.eng.TaskRequests(ctx, &tt.TaskRequestListParams{Status: tt.TaskRequestFailed})
	require.NoError(t, err)
	var listed []int64
	for _, r := range list.Requests {
		listed = append(listed, r.TaskRequestID)
	}
	require.Equal(t, []int64{unknown, badContext, unknownField, noKey}, listed)
	_, err = b.eng.TaskRequests(ctx, &tt.TaskRequestListParams{Status: "lost"})
	require.ErrorContains(t, err, `status: must be one of`)

	// Once its template exists, a retried request becomes a task.
	_, err = b.eng.RegisterTemplate(ctx, &tt.TemplateSpec{Namespace: b.ns, Name: "no_such_template", Version: "1.0.0",
		Steps: []tt.StepSpec{{Name: "only", Handler: "Only"}}})
	require.NoError(t, err)
	retried, err := b.eng.RetryTaskRequest(ctx, unknown)
	require.NoError(t, err)
	require.Equal(t, tt.TaskRequestPending, retried.Status)
	require.Zero(t, retried.Attempts)
	res, err = b.eng.TakeUpTaskRequests(ctx, 100)
	require.NoError(t, err)
	require.Len(t, res.Requests, 1)
	require.Equal(t, tt.TaskRequestCreated, b.get(t, unknown).Status)

	// Only a failed request can be retried.
	_, err = b.eng.RetryTaskRequest(ctx, good)
	var ite *tt.InvalidTransitionError
	require.ErrorAs(t, err, &ite)
	require.Equal(t, "created", ite.From)
	_, err = b.eng.RetryTaskRequest(ctx, 1<<40)
	require.ErrorIs(t, err, tt.ErrNotFound)
}

func TestTaskRequestDuplicateIdentityResolvesToTheExistingTask(t *testing.T) {
	t.Parallel()
	b := setupRequests(t)
	ctx := context.Background()
	direct, err := b.eng.InitializeTask(ctx, &tt.TaskRequest{Namespace: b.ns, Name: "order",
		Context: json.RawMessage(`{"order_id":9}`), IdempotencyKey: "order-9"})
	require.NoError(t, err)

	first := b.request(t, b.order(1, `,"idempotency_key":"order-1"`))
	second := b.request(t, b.order(1, `,"idempotency_key":"order-1"`))
	ofDirect := b.request(t, b.order(9, `,"idempotency_key":"order-9"`))
	res, err := b.eng.TakeUpTaskRequests(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, 1, res.Count(tt.TaskRequestCreated))
	require.Equal(t, 2, res.Count(tt.TaskRequestDuplicate))

	a, dup, d := b.get(t, first), b.get(t, second), b.get(t, ofDirect)
	require.Equal(t, tt.TaskRequestCreated, a.Status)
	require.Equal(t, tt.TaskRequestDuplicate, dup.Status)
	require.Equal(t, *a.TaskID, *dup.TaskID, "a duplicate names the task that has its identity")
	require.Equal(t, tt.TaskRequestDuplicate, d.Status)
	require.Equal(t, direct.TaskID, *d.TaskID)
	require.Equal(t, 2, b.taskCount(t))
}

// A taker that dies after locking a request and while creating its task
// (here: its backend is terminated while it waits on a lock inside the task
// insert) leaves no task and the request pending; meanwhile a second taker
// skips the locked request instead of waiting, and afterwards takes it up.
func TestTaskRequestTakerCrashMidWayLeavesItPending(t *testing.T) {
	t.Parallel()
	b := setupRequests(t)
	ctx := context.Background()
	id := b.request(t, b.order(1, ""))

	// Inserting the task takes a key-share lock on its template's row; an
	// update lock held here makes the taker wait there, mid-way.
	blocker, err := b.eng.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = blocker.Rollback(ctx) }()
	_, err = blocker.Exec(ctx, `SELECT 1 FROM tasker_named_tasks WHERE name = 'order' FOR UPDATE`)
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		_, err := b.eng.TakeUpTaskRequests(ctx, 10)
		done <- err
	}()
	var pid int32
	deadline := time.Now().Add(20 * time.Second)
	for pid == 0 {
		require.True(t, time.Now().Before(deadline), "the taker never blocked inside the task insert")
		err := b.eng.Pool().QueryRow(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO tasker_tasks%'`).Scan(&pid)
		if err != nil {
			require.ErrorIs(t, err, pgx.ErrNoRows)
			time.Sleep(10 * time.Millisecond)
		}
	}

	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	other, err := b.eng.TakeUpTaskRequests(octx, 10)
	cancel()
	require.NoError(t, err, "a second taker must not wait for the locked request")
	require.Empty(t, other.Requests, "a second taker must skip the locked request, not wait for it or take it")

	_, err = b.eng.Pool().Exec(ctx, "SELECT pg_terminate_backend($1)", pid)
	require.NoError(t, err)
	select {
	case err := <-done:
		require.Error(t, err, "the killed taker must report failure")
	case <-time.After(20 * time.Second):
		require.FailNow(t, "the killed taker never returned")
	}
	require.NoError(t, blocker.Rollback(ctx))
	// pg_terminate_backend only signals: the backend releases its row locks
	// when it exits, which may be after its client saw the connection close.
	for gone := false; !gone; {
		require.True(t, time.Now().Before(deadline.Add(20*time.Second)), "the terminated backend %d never exited", pid)
		require.NoError(t, b.eng.Pool().QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)", pid).Scan(&gone))
		if !gone {
			time.Sleep(10 * time.Millisecond)
		}
	}

	got := b.get(t, id)
	require.Equal(t, tt.TaskRequestPending, got.Status)
	require.Zero(t, got.Attempts, "a crash is not the request's fault")
	require.Zero(t, b.taskCount(t), "the task insert rolled back with the taker")

	res, err := b.eng.TakeUpTaskRequests(ctx, 10)
	require.NoError(t, err)
	require.Len(t, res.Requests, 1)
	require.Equal(t, tt.TaskRequestCreated, b.get(t, id).Status)
	require.Equal(t, 1, b.taskCount(t))
}

func TestTaskRequestsPruneOnlyOldTakenOnes(t *testing.T) {
	t.Parallel()
	b := setupRequests(t)
	ctx := context.Background()
	taken := b.request(t, b.order(1, ""))
	failed := b.request(t, fmt.Sprintf(`{"namespace":%q,"name":"nope","context":{}}`, b.ns))
	_, err := b.eng.TakeUpTaskRequests(ctx, 10)
	require.NoError(t, err)
	pending := b.request(t, b.order(2, ""))

	n, err := b.eng.PruneTaskRequests(ctx, time.Hour, 100)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is an hour old yet")
	_, err = b.eng.Pool().Exec(ctx, "UPDATE tasker_task_requests SET processed_at = processed_at - interval '2 hours' WHERE processed_at IS NOT NULL")
	require.NoError(t, err)
	n, err = b.eng.PruneTaskRequests(ctx, time.Hour, 100)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)

	_, err = b.eng.TaskRequest(ctx, taken)
	require.ErrorIs(t, err, tt.ErrNotFound)
	require.Equal(t, tt.TaskRequestFailed, b.get(t, failed).Status)
	require.Equal(t, tt.TaskRequestPending, b.get(t, pending).Status)
}
