package engine_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Open owns its pool: it connects and pings, and Close closes the pool.
func TestOpenOwnsItsPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, url := taskertest.FreshDatabase(t)
	e, err := engine.Open(ctx, url, engine.Config{PoolSize: 3})
	require.NoError(t, err)
	require.EqualValues(t, 3, e.Pool().Config().MaxConns)
	_, err = e.Migrate(ctx)
	require.NoError(t, err)
	e.Close()
	require.Error(t, e.Pool().Ping(ctx), "the pool is closed with the engine")

	_, err = engine.Open(ctx, "postgres://%zz", engine.Config{})
	var v *tt.ValidationError
	require.ErrorAs(t, err, &v)
	require.Equal(t, "database_url", v.Problems[0].Field)
	_, err = engine.Open(ctx, url, engine.Config{PoolSize: -1})
	require.ErrorAs(t, err, &v)
	_, err = engine.Open(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", engine.Config{})
	require.Equal(t, tt.CodeDatabase, tt.CodeOf(err), "%v", err)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The engine logs through Config.Logger, and its level decides what shows:
// migrations and operator actions at info, each report at debug.
func TestLoggerLevelDecidesWhatIsLogged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	run := func(level slog.Level) string {
		_, url := taskertest.FreshDatabase(t)
		var out syncBuffer
		e, err := engine.Open(ctx, url, engine.Config{
			Logger: slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level}))})
		require.NoError(t, err)
		defer e.Close()
		_, err = e.Migrate(ctx)
		require.NoError(t, err)
		init := taskertest.Start(t, e, taskertest.DiamondWorkflow(taskertest.Namespace(t)), map[string]any{})
		s, err := e.ClaimStep(ctx, &tt.ClaimOneParams{StepID: init.StepMapping["start"], WorkerID: "log"})
		require.NoError(t, err)
		_, err = e.ReportBatch(ctx, []engine.Report{{Kind: engine.ReportComplete, StepID: s.WorkflowStepID,
			ClaimToken: s.ClaimToken, Results: json.RawMessage(`{}`)}}, nil)
		require.NoError(t, err)
		_, err = e.CancelTask(ctx, &tt.CancelTaskParams{TaskID: init.TaskID, Reason: "log test"})
		require.NoError(t, err)
		return out.String()
	}
	warn, info, debug := run(slog.LevelWarn), run(slog.LevelInfo), run(slog.LevelDebug)
	require.Empty(t, warn)
	require.Contains(t, info, "migration applied")
	require.Contains(t, info, "task cancelled")
	require.Contains(t, info, `reason="log test"`)
	require.NotContains(t, info, "step reported")
	require.Contains(t, debug, "step reported")
	require.Contains(t, debug, "step=start")
}

// lock_timeout is a startup parameter PgBouncer refuses: Open says so
// instead of PgBouncer's "unsupported startup parameter".
func TestOpenRefusesLockTimeoutBehindPgBouncer(t *testing.T) {
	t.Parallel()
	_, err := engine.Open(context.Background(), taskertest.URL(t), engine.Config{PgBouncer: true, LockTimeout: time.Second})
	var verr *tt.ValidationError
	require.ErrorAs(t, err, &verr)
	require.ErrorContains(t, err, "lock_timeout_ms")
	require.ErrorContains(t, err, "cannot be set behind PgBouncer")
}
