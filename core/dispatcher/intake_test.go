package dispatcher_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	"github.com/tasker-systems/tasker-core-go/core/store"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// requestTask writes a task request of the bundle's diamond template in a
// transaction of its own, committed or rolled back.
func (b *testBundle) requestTask(t *testing.T, n int, commit bool) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := b.eng.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	id, err := store.TaskRequestInsert(ctx, tx, fmt.Appendf(nil,
		`{"namespace":%q,"name":"simple_diamond","version":"1.0.0","context":{"n":%d}}`, b.ns, n))
	require.NoError(t, err)
	if commit {
		require.NoError(t, tx.Commit(ctx))
	}
	return id
}

// waitRequestTask waits until a request has become a task and returns it.
func (b *testBundle) waitRequestTask(t *testing.T, id int64, within time.Duration) (int64, bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		r, err := b.eng.TaskRequest(context.Background(), id)
		require.NoError(t, err)
		require.NotEqual(t, tt.TaskRequestFailed, r.Status, "request %d failed: %+v", id, r.Error)
		if r.Status == tt.TaskRequestCreated {
			return *r.TaskID, true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, false
}

func (b *testBundle) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	require.NoError(t, b.eng.Pool().QueryRow(context.Background(),
		"SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n))
	return n
}

func succeed(*tt.ClaimedStep) (any, error) { return map[string]bool{"ok": true}, nil }

// With the poll an hour away, only NOTIFY tasker_task_requests (sent by the
// table's trigger when the inserting transaction commits) can wake the
// intake; a rolled-back request is never seen.
func TestIntakeTakesUpCommittedRequestsOnNotify(t *testing.T) {
	t.Parallel()
	b := setupFresh(t)
	b.register(t, taskertest.SimpleDiamondWorkflow(b.ns))
	// Written before the dispatcher starts, taken up by its first round.
	early := b.requestTask(t, 0, true)
	d := b.start(t, dispatcher.Config{FetchPollInterval: time.Hour})
	wg := executors(t, d, 2, &runs{}, succeed)
	defer wg.Wait()
	defer d.Quiet()
	_, ok := b.waitRequestTask(t, early, 20*time.Second)
	require.True(t, ok, "a request committed before the dispatcher started was not taken up")

	b.requestTask(t, -1, false)
	// The listener connects in the background: a request committed before it
	// listens is taken up by the round the next notification wakes.
	ids := []int64{early}
	for deadline := time.Now().Add(30 * time.Second); ; {
		require.True(t, time.Now().Before(deadline), "no committed request was taken up: is the intake listening?")
		ids = append(ids, b.requestTask(t, len(ids), true))
		if _, ok := b.waitRequestTask(t, ids[1], 500*time.Millisecond); ok {
			break
		}
	}
	for _, id := range ids {
		taskID, ok := b.waitRequestTask(t, id, 20*time.Second)
		require.True(t, ok, "request %d was not taken up", id)
		st := b.waitTasks(t, []int64{taskID}, 20*time.Second)[0]
		require.Equal(t, tt.TaskComplete, st.Status)
	}
	committed := len(ids)
	require.Equal(t, committed, b.count(t, "tasker_task_requests"), "the rolled-back request left a row")
	require.Equal(t, committed, b.count(t, "tasker_tasks"))
}

func TestIntakeOfTwoDispatchersMakesOneTaskPerRequest(t *testing.T) {
	t.Parallel()
	b := setupFresh(t)
	b.register(t, taskertest.SimpleDiamondWorkflow(b.ns))
	const n = 40
	ids := make([]int64, n)
	for i := range n {
		ids[i] = b.requestTask(t, i, true)
	}
	d1 := b.start(t, dispatcher.Config{})
	d2 := b.start(t, dispatcher.Config{})
	wg1 := executors(t, d1, 2, &runs{}, succeed)
	wg2 := executors(t, d2, 2, &runs{}, succeed)
	defer wg2.Wait()
	defer wg1.Wait()
	defer d2.Quiet()
	defer d1.Quiet()

	taskIDs := make([]int64, n)
	seen := map[int64]bool{}
	for i, id := range ids {
		taskID, ok := b.waitRequestTask(t, id, 30*time.Second)
		require.True(t, ok, "request %d was not taken up", id)
		require.False(t, seen[taskID], "task %d made from two requests", taskID)
		seen[taskID] = true
		taskIDs[i] = taskID
	}
	for _, st := range b.waitTasks(t, taskIDs, 60*time.Second) {
		require.Equal(t, tt.TaskComplete, st.Status)
	}
	require.Equal(t, n, b.count(t, "tasker_tasks"))
}
