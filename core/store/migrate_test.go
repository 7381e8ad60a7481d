package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/store"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

func TestMigrateTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := taskertest.FreshDatabase(t)

	all, err := store.Migrations()
	require.NoError(t, err)
	require.NotEmpty(t, all)

	first, err := store.Migrate(ctx, pool)
	require.NoError(t, err)
	require.Len(t, first.Applied, len(all))
	require.Equal(t, all[len(all)-1].Version, first.CurrentVersion)

	second, err := store.Migrate(ctx, pool)
	require.NoError(t, err)
	require.Empty(t, second.Applied, "a second run must apply nothing")
	require.Equal(t, first.CurrentVersion, second.CurrentVersion)

	var fn int
	require.NoError(t, pool.QueryRow(ctx,
		"SELECT count(*) FROM pg_proc WHERE proname IN ('get_step_readiness_status', 'get_task_execution_context', 'calculate_dependency_levels')").Scan(&fn))
	require.Equal(t, 3, fn)
}

func TestMigrateConcurrentlyAppliesEachMigrationOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := taskertest.FreshDatabase(t)

	const racers = 8
	var wg sync.WaitGroup
	results := make([]*tt.MigrateResult, racers)
	errs := make([]error, racers)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = store.Migrate(ctx, pool)
		}()
	}
	wg.Wait()

	applied := 0
	for i := range racers {
		require.NoError(t, errs[i])
		applied += len(results[i].Applied)
	}
	all, err := store.Migrations()
	require.NoError(t, err)
	require.Equal(t, len(all), applied, "each migration applied by exactly one racer")

	var rows int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM tasker_schema_migrations").Scan(&rows))
	require.Equal(t, len(all), rows)
}
