package dispatcher_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// A backlog inserted faster than autovacuum analyzes gets analyzed by the
// maintenance leader, so the claim keeps using the ready index.
func TestMaintenanceAnalyzesABacklog(t *testing.T) {
	t.Parallel()
	b := setupFresh(t)
	steps := make([]tt.StepSpec, 1500)
	for i := range steps {
		steps[i] = tt.StepSpec{Name: fmt.Sprintf("s%d", i), Handler: "S"}
	}
	b.register(t, &tt.TemplateSpec{Namespace: b.ns, Name: "wide", Version: "1.0.0", Steps: steps})
	b.tasks(t, "wide", 1)
	ctx := context.Background()
	analyzed := func() bool {
		var at *time.Time
		require.NoError(t, b.eng.Pool().QueryRow(ctx,
			`SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'tasker_workflow_steps'`).Scan(&at))
		return at != nil
	}
	require.False(t, analyzed())
	deadline := time.Now().Add(10 * time.Second)
	for !analyzed() {
		require.True(t, time.Now().Before(deadline), "the steps table was never analyzed")
		_, leader, err := b.eng.RescueExpiredLeases(ctx)
		require.NoError(t, err)
		require.True(t, leader)
		time.Sleep(100 * time.Millisecond)
	}
}
