package dispatcher_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// privateServer is a PostgreSQL server of the test's own (Debian's server
// binaries, a temporary data directory, a free port), so the test can
// restart it without disturbing any other test.
type privateServer struct {
	t      *testing.T
	pgCtl  string
	data   string
	opts   string
	asUser string // run the server binaries as this user (root may not)
	URL    string
}

func startPrivateServer(t *testing.T) *privateServer {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Skip("no PostgreSQL server binaries in /usr/lib/postgresql (Debian package postgresql; scripts/setup.sh installs it)")
	}
	bin := filepath.Dir(bins[len(bins)-1])
	// Not t.TempDir: its parent is private to root, and the server runs as
	// postgres.
	dir, err := os.MkdirTemp("", "tasker-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &privateServer{t: t, pgCtl: filepath.Join(bin, "pg_ctl"), data: filepath.Join(dir, "data")}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root needs the postgres user to run the server")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(dir, uid, gid))
		s.asUser = "postgres"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	s.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir)
	s.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	s.run(filepath.Join(bin, "initdb"), "-D", s.data, "-A", "trust", "-U", "postgres", "--no-sync")
	s.run(s.pgCtl, "-D", s.data, "-o", s.opts, "-l", filepath.Join(dir, "log"), "-w", "start")
	t.Cleanup(func() { s.run(s.pgCtl, "-D", s.data, "-m", "immediate", "-w", "stop") })
	return s
}

func (s *privateServer) run(name string, args ...string) {
	s.t.Helper()
	cmd := exec.Command(name, args...)
	if s.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.asUser, "--", name}, args...)...)
	}
	// Output to a file, not a pipe: the server pg_ctl starts inherits it and
	// would hold a pipe open forever.
	out, err := os.CreateTemp("", "tasker-pg-cmd-")
	require.NoError(s.t, err)
	defer os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	text, _ := os.ReadFile(out.Name())
	require.NoError(s.t, err, "%s: %s", name, text)
}

// restart stops the server (fast: sessions are terminated mid-transaction)
// and starts it again.
func (s *privateServer) restart() {
	s.run(s.pgCtl, "-D", s.data, "-o", s.opts, "-m", "fast", "-w", "restart")
}

// A PostgreSQL restart in the middle of a run: the dispatcher recovers by
// itself (pool, listener, producer), reports are retried rather than
// dropped, and every step is recorded exactly once.
func TestDispatcherSurvivesPostgresRestart(t *testing.T) {
	t.Parallel()
	srv := startPrivateServer(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, srv.URL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	eng, err := engine.New(pool, engine.Config{Backoff: taskertest.FastBackoff()})
	require.NoError(t, err)
	_, err = eng.Migrate(ctx)
	require.NoError(t, err)
	b := &testBundle{eng: eng, ns: taskertest.Namespace(t)}
	b.register(t, taskertest.LinearWorkflow(b.ns))
	ids := b.tasks(t, "linear_workflow", 30)
	d := b.start(t, dispatcher.Config{})
	rec := &runs{}
	wg := executors(t, d, 4, rec, func(s *tt.ClaimedStep) (any, error) {
		time.Sleep(10 * time.Millisecond)
		return map[string]int64{"step": s.WorkflowStepID}, nil
	})

	time.Sleep(300 * time.Millisecond)
	srv.restart()
	time.Sleep(300 * time.Millisecond)
	srv.restart()

	tasks := b.waitTasks(t, ids, 120*time.Second)
	d.Quiet()
	wg.Wait()
	for _, st := range tasks {
		require.Equal(t, tt.TaskComplete, st.Status, "task %d", st.TaskID)
		for _, s := range st.Steps {
			require.Equal(t, tt.StepComplete, s.Status)
			require.JSONEq(t, `{"step":`+itoa(s.WorkflowStepID)+`}`, string(s.Results))
		}
	}
	var steps, completions int
	require.NoError(t, pool.QueryRow(ctx, `
		SELECT count(DISTINCT workflow_step_id), count(*) FILTER (WHERE to_state = 'complete')
		  FROM tasker_workflow_step_transitions`).Scan(&steps, &completions))
	require.Equal(t, 30*6, steps)
	require.Equal(t, steps, completions, "every step recorded exactly once")
	t.Logf("stats after two restarts: %+v", d.Stats())
}
