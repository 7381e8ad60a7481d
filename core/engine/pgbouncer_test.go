package engine_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// openBehindPgBouncer starts a PgBouncer in transaction mode with all its
// server connections open and returns an engine on the database of dbURL
// through it, configured with cfg (closed at cleanup).
func openBehindPgBouncer(t *testing.T, dbURL string, cfg engine.Config) *engine.Engine {
	t.Helper()
	bouncer := taskertest.StartPgBouncer(t)
	through := bouncer.URL(t, dbURL)
	bouncer.OpenServers(t, through)
	cfg.PoolSize = 6 // twice PgBouncer's server connections
	cfg.Backoff = taskertest.FastBackoff()
	e, err := engine.Open(context.Background(), through, cfg)
	require.NoError(t, err)
	t.Cleanup(e.Close)
	return e
}

// Every operation a worker and an operator perform works through PgBouncer
// in transaction mode, which gives consecutive transactions different
// server connections: registration, initialization, claims, completions,
// retried failures and finalization of every workflow shape.
func TestPgBouncerDrivesEveryShape(t *testing.T) {
	t.Parallel()
	e := openBehindPgBouncer(t, taskertest.URL(t), engine.Config{PgBouncer: true})
	ns := taskertest.Namespace(t)
	var ids []int64
	for _, shape := range taskertest.Shapes() {
		ids = append(ids, taskertest.Start(t, e, shape.Build(ns), map[string]any{"shape": shape.Name}).TaskID)
	}
	failed := map[string]bool{}
	d := taskertest.Drive(t, e, ns, ids, func(s tt.ClaimedStep) (any, *taskertest.Failure) {
		if s.Attempts == 1 && !failed[s.TaskName] { // the first step of each task fails once
			failed[s.TaskName] = true
			return nil, &taskertest.Failure{Class: "Flaky", Message: "first attempt"}
		}
		return map[string]any{"step": s.StepName}, nil
	})
	for _, id := range ids {
		require.Equal(t, tt.TaskComplete, d.Tasks[id].Status, "task %d", id)
	}
	require.Len(t, failed, len(ids), "every task retried a failed step")
}

// The lease-rescue leader lock lasts exactly one round, even when PgBouncer
// gives each transaction another server connection: a session lock taken
// on one of them and released on another stays held there, and every later
// round that lands elsewhere finds no leader. Each round rescues a lease.
func TestPgBouncerRescueLeaderLockLastsOneRound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, dbURL := taskertest.FreshDatabase(t) // rescues are global: no other test's leases here
	e := openBehindPgBouncer(t, dbURL, engine.Config{PgBouncer: true})
	_, err := e.Migrate(ctx)
	require.NoError(t, err)
	ns := taskertest.Namespace(t)
	one := &tt.TemplateSpec{Namespace: ns, Name: "one", Version: "1.0.0", Steps: []tt.StepSpec{{Name: "only", Handler: "Only"}}}
	for round := range 2 * taskertest.PgBouncerPoolSize {
		taskertest.Start(t, e, one, nil)
		claim, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 100, WorkerID: "crashed", LeaseMS: 20})
		require.NoError(t, err)
		time.Sleep(50 * time.Millisecond) // the leases expire
		n, leader, err := e.RescueExpiredLeases(ctx)
		require.NoError(t, err)
		require.True(t, leader, "round %d found the leader lock held with no other process running", round+1)
		require.Equal(t, len(claim.Steps), n, "round %d rescues what the crashed worker claimed", round+1)
	}

	// Another process's round in progress: this one is not the leader.
	tx, err := e.Pool().Begin(ctx)
	require.NoError(t, err)
	var held bool
	require.NoError(t, tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", int64(engine.RescueLockKey)).Scan(&held))
	require.True(t, held)
	_, leader, err := e.RescueExpiredLeases(ctx)
	require.NoError(t, err)
	require.False(t, leader, "two leaders at once")
	require.NoError(t, tx.Rollback(ctx))
	_, leader, err = e.RescueExpiredLeases(ctx)
	require.NoError(t, err)
	require.True(t, leader, "the lock outlived the transaction that held it")
}

// An engine not told it is behind PgBouncer caches prepared statements on
// connections PgBouncer then swaps: the error says what to configure. (This
// also proves the test's PgBouncer really shares server connections.)
func TestPgBouncerWithoutConfigurationSaysWhatToSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := openBehindPgBouncer(t, withParam(t, taskertest.URL(t), "default_query_exec_mode", "cache_statement"), engine.Config{})
	var err error
	for range 2 * taskertest.PgBouncerPoolSize {
		if _, err = e.TaskStatus(ctx, 1<<40); err != nil && !errors.As(err, new(*tt.NotFoundError)) {
			break
		}
	}
	var dbErr *tt.DatabaseError
	require.ErrorAs(t, err, &dbErr, "prepared statements survived PgBouncer's connection switches")
	require.Contains(t, []string{"26000", "42P05"}, dbErr.SQLState, "%v", err)
	require.Equal(t, store.PoolerHint, dbErr.Hint)
	require.Contains(t, err.Error(), "pgbouncer: true")
}

// New cannot change the caller's pool, so it refuses one that would prepare
// statements behind PgBouncer, and takes one that does not.
func TestPgBouncerNewChecksThePoolsExecMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pc, err := pgxpool.ParseConfig(taskertest.URL(t))
	require.NoError(t, err)
	pc.MaxConns = 1
	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement // pgx's default
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	require.NoError(t, err)
	defer pool.Close()
	_, err = engine.New(pool, engine.Config{PgBouncer: true})
	var v *tt.ValidationError
	require.ErrorAs(t, err, &v)
	require.Equal(t, "pgbouncer", v.Problems[0].Field)
	require.Contains(t, err.Error(), "QueryExecModeCacheDescribe")

	pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	described, err := pgxpool.NewWithConfig(ctx, pc)
	require.NoError(t, err)
	defer described.Close()
	e, err := engine.New(described, engine.Config{PgBouncer: true})
	require.NoError(t, err)
	require.Nil(t, e.ListenConfig(), "behind PgBouncer without a listen URL there is nothing to LISTEN on")

	e, err = engine.New(described, engine.Config{PgBouncer: true, ListenURL: withParam(t, taskertest.URL(t), "application_name", "direct")})
	require.NoError(t, err)
	require.Equal(t, "direct", e.ListenConfig().RuntimeParams["application_name"])
	_, err = engine.New(described, engine.Config{PgBouncer: true, ListenURL: "::not a url::"})
	require.ErrorAs(t, err, &v)
	require.Equal(t, "listen_database_url", v.Problems[0].Field)
}

// withParam returns dbURL with the query parameter key set to value.
func withParam(t *testing.T, dbURL, key, value string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
