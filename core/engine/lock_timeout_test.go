package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// An engine with a lock timeout gives up on a lock another transaction
// holds (a test's open transaction that truncated or deleted tasks) with a
// LockTimeoutError naming that session, instead of waiting out the call's
// deadline; once the transaction ends, the same call works.
func TestLockTimeoutNamesTheHolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, url := taskertest.FreshDatabase(t)
	e, err := engine.Open(ctx, url, engine.Config{LockTimeout: 200 * time.Millisecond, PoolSize: 2})
	require.NoError(t, err)
	t.Cleanup(e.Close)
	_, err = e.Migrate(ctx)
	require.NoError(t, err)
	spec := taskertest.LinearWorkflow("locks")
	task := taskertest.Start(t, e, spec, nil)

	var appName, lockTimeout string
	require.NoError(t, e.Pool().QueryRow(ctx, "SELECT current_setting('application_name'), current_setting('lock_timeout')").
		Scan(&appName, &lockTimeout))
	require.Equal(t, "tasker_core", appName)
	require.Equal(t, "200ms", lockTimeout)

	app, err := pgx.Connect(ctx, url+"&application_name=the_app")
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close(ctx) })
	var appPID int32
	require.NoError(t, app.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&appPID))

	// A TRUNCATE inside the app's open transaction: every engine call on
	// tasker_tasks would wait for it.
	tx, err := app.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "TRUNCATE tasker_tasks CASCADE")
	require.NoError(t, err)
	_, err = e.InitializeTask(ctx, &tt.TaskRequest{Namespace: "locks", Name: spec.Name, Context: json.RawMessage(`{}`),
		IdentityStrategy: tt.IdentityAlwaysUnique})
	requireCode(t, err, tt.CodeTimeout)
	var lt *tt.LockTimeoutError
	require.ErrorAs(t, err, &lt)
	require.Equal(t, "lock_timeout", lt.Details()["reason"])
	require.Empty(t, lt.Holders, "nobody asked who held the lock yet")

	err = e.ExplainLockTimeout(ctx, err)
	require.ErrorAs(t, err, &lt)
	require.NotEmpty(t, lt.Holders, "%v", err)
	holder := lt.Holders[0]
	require.Equal(t, appPID, holder.PID)
	require.Equal(t, "the_app", holder.ApplicationName)
	require.Equal(t, "idle in transaction", holder.State)
	require.Contains(t, holder.Locks, "AccessExclusiveLock on tasker_tasks")
	require.Contains(t, err.Error(), `"the_app" (idle in transaction`)
	require.Contains(t, err.Error(), `its last statement: "TRUNCATE tasker_tasks CASCADE"`)
	require.NoError(t, tx.Rollback(ctx))

	// A DELETE holds row locks: purging that task waits for them too.
	tx, err = app.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "DELETE FROM tasker_tasks WHERE task_id = $1", task.TaskID)
	require.NoError(t, err)
	_, err = e.PurgeTasks(ctx, &tt.PurgeTasksParams{TaskIDs: []int64{task.TaskID}})
	require.ErrorAs(t, err, &lt)
	err = e.ExplainLockTimeout(ctx, err)
	require.Contains(t, err.Error(), "RowExclusiveLock on tasker_tasks")
	require.NoError(t, tx.Rollback(ctx))

	res, err := e.PurgeTasks(ctx, &tt.PurgeTasksParams{TaskIDs: []int64{task.TaskID}})
	require.NoError(t, err, "once the app's transaction ends")
	require.EqualValues(t, 1, res.PurgedTasks)

	_, err = engine.Open(ctx, url, engine.Config{LockTimeout: -time.Second})
	var v *tt.ValidationError
	require.ErrorAs(t, err, &v)
}
