package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
)

// The package's tests share one database, created here, and the library's
// one process-wide engine, initialised on it through tasker_init.
var (
	testDBURL string
	testPool  *pgxpool.Pool // a separate pool for checking rows behind the ABI's back
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return m.Run() // fuzzing needs no database
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, dbURL, err := taskertest.CreateDatabase(ctx, "ffi")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ffi tests:", err)
		return 1
	}
	defer func() {
		if err := taskertest.DropDatabase(context.Background(), name); err != nil {
			fmt.Fprintln(os.Stderr, "ffi tests:", err)
		}
	}()
	testDBURL = dbURL
	if testPool, err = taskertest.Connect(ctx, dbURL, 4); err != nil {
		fmt.Fprintln(os.Stderr, "ffi tests:", err)
		return 1
	}
	defer testPool.Close()
	// Before tasker_init every engine call is not_initialized (checked here
	// because only the start of the process is truly "before init").
	if c := callID(exportTaskStatus, 1, 0); c.rc != rcNotInitialized || !strings.Contains(c.errJSON, `"code":"not_initialized"`) {
		fmt.Fprintf(os.Stderr, "ffi tests: before tasker_init: rc %d %s\n", c.rc, c.errJSON)
		return 1
	}
	if c := callInit(ptr(initConfigJSON(""))); c.rc != 0 {
		fmt.Fprintln(os.Stderr, "ffi tests: tasker_init:", c.errJSON)
		return 1
	}
	if c := callMigrate(0); c.rc != 0 {
		fmt.Fprintln(os.Stderr, "ffi tests: tasker_migrate:", c.errJSON)
		return 1
	} else {
		callHandleFree(c.handle)
	}
	defer callShutdown(0)
	return m.Run()
}

// initConfigJSON is tasker_init's JSON for the test database, with extra
// fields (",..." or "").
func initConfigJSON(extra string) string {
	return fmt.Sprintf(`{"database_url":%q,"pool_size":8,"log_level":"error","backoff":{"base_ms":5,"multiplier":1,"max_ms":5}%s}`, testDBURL, extra)
}

func ptr[T any](v T) *T { return &v }

// errorOf decodes an error JSON.
type errorDoc struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

func errorOf(t *testing.T, c abiCall) errorDoc {
	t.Helper()
	require.NotEmpty(t, c.errJSON, "rc %d without error JSON", c.rc)
	var e errorDoc
	require.NoError(t, json.Unmarshal([]byte(c.errJSON), &e), c.errJSON)
	return e
}

// requireOK fails unless c succeeded, showing its error.
func requireOK(t *testing.T, c abiCall) {
	t.Helper()
	require.Equal(t, 0, c.rc, "error: %s", c.errJSON)
	require.Empty(t, c.errJSON)
}

// requireErr checks a failed call's status, code and message fragment, and
// that it handed out no handle.
func requireErr(t *testing.T, c abiCall, rc int, code, msgContains string) errorDoc {
	t.Helper()
	require.Equal(t, rc, c.rc, "error JSON: %s", c.errJSON)
	require.Zero(t, c.handle)
	e := errorOf(t, c)
	require.Equal(t, code, e.Code)
	require.Contains(t, e.Message, msgContains)
	return e
}

// handleJSON reads a handle's JSON into v and frees the handle.
func handleJSON(t *testing.T, h uint64, v any) {
	t.Helper()
	s, c := callHandleJSON(h)
	requireOK(t, c)
	require.NoError(t, json.Unmarshal([]byte(s), v), s)
	requireOK(t, callHandleFree(h))
}

// checkHandles makes a test fail if it leaks handles.
func checkHandles(t *testing.T) {
	t.Helper()
	before := liveHandles()
	t.Cleanup(func() {
		require.Equal(t, before, liveHandles(), "live handles leaked by %s", t.Name())
	})
}

// rowCounts counts the rows rejected inputs must not change.
func rowCounts(t *testing.T) map[string]int64 {
	t.Helper()
	counts := map[string]int64{}
	for _, table := range []string{"tasker_named_tasks", "tasker_tasks", "tasker_workflow_steps", "tasker_workflow_step_transitions", "tasker_task_transitions"} {
		var n int64
		require.NoError(t, testPool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n))
		counts[table] = n
	}
	return counts
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
