package taskertest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PgBouncerPoolSize is how many server connections a PgBouncer of
// StartPgBouncer keeps per database: fewer than the engine's pool, so
// clients really share them.
const PgBouncerPoolSize = 3

// PgBouncer is a private PgBouncer in transaction pool mode in front of the
// test server (DATABASE_URL). It hands its server connections out round
// robin, so consecutive transactions of one client land on different server
// connections: whatever a client leaves on a connection between
// transactions (a prepared statement, a session advisory lock, a LISTEN, a
// SET) is lost to it or seen by another client, at once rather than by
// chance.
type PgBouncer struct {
	addr string
	log  *lockedBuffer
}

// StartPgBouncer starts a PgBouncer for tb on a free port of 127.0.0.1 and
// stops it at cleanup; its log is printed when tb fails. Every database of
// the test server is reachable through it (URL). It fails tb when the
// pgbouncer binary (Debian package pgbouncer) is missing.
func StartPgBouncer(tb testing.TB) *PgBouncer {
	tb.Helper()
	bin := pgbouncerBinary(tb)
	server, err := pgconn.ParseConfig(ServerURL())
	if err != nil {
		tb.Fatalf("taskertest: pgbouncer: DATABASE_URL %s does not parse: %v", redact(ServerURL()), err)
	}
	// Root must name a user for PgBouncer to switch to, who then reads
	// nothing but the config PgBouncer read before switching.
	dir, err := os.MkdirTemp("", "tasker-pgbouncer-")
	if err != nil {
		tb.Fatalf("taskertest: pgbouncer: %v", err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	var lastErr error
	for range 3 { // another process may take the free port first
		b, err := startPgBouncer(tb, bin, dir, server)
		if err == nil {
			return b
		}
		lastErr = err
	}
	tb.Fatalf("taskertest: pgbouncer: %v", lastErr)
	return nil
}

// URL returns dbURL (a URL of the test server, as from URL or
// CreateDatabase) with PgBouncer's address in place of the server's.
func (b *PgBouncer) URL(tb testing.TB, dbURL string) string {
	tb.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		tb.Fatalf("taskertest: pgbouncer: %s is not a URL: %v", redact(dbURL), err)
	}
	u.Host = b.addr
	q := u.Query()
	q.Del("host") // a socket directory in the query would win over the URL's host
	q.Del("port")
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenServers makes PgBouncer open all PgBouncerPoolSize server connections
// to the database of dbURL (a URL through it), so that round robin has
// connections to rotate through from the first transaction on: it holds
// that many transactions open at once, then ends them.
func (b *PgBouncer) OpenServers(tb testing.TB, dbURL string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		tb.Fatalf("taskertest: pgbouncer: %v", err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	var txs []pgx.Tx
	defer func() {
		for _, tx := range txs {
			_ = tx.Rollback(ctx)
			_ = tx.Conn().Close(ctx)
		}
	}()
	for range PgBouncerPoolSize {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			tb.Fatalf("taskertest: pgbouncer: connect through it: %v", err)
		}
		tx, err := conn.Begin(ctx)
		if err == nil {
			_, err = tx.Exec(ctx, "SELECT 1") // a transaction takes its server connection at its first statement
		}
		if err != nil {
			_ = conn.Close(ctx)
			tb.Fatalf("taskertest: pgbouncer: open a transaction through it: %v", err)
		}
		txs = append(txs, tx)
	}
}

// Log returns what PgBouncer logged so far.
func (b *PgBouncer) Log() string { return b.log.String() }

func pgbouncerBinary(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p
	}
	const debian = "/usr/sbin/pgbouncer" // not on a non-root PATH
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	tb.Fatalf("taskertest: pgbouncer not found (on PATH or at %s): install the Debian package pgbouncer "+
		"(scripts/setup.sh does); the PgBouncer tests cannot run without it", debian)
	return ""
}

func startPgBouncer(tb testing.TB, bin, dir string, server *pgconn.Config) (*PgBouncer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	ini := filepath.Join(dir, fmt.Sprintf("pgbouncer-%d.ini", port))
	if err := os.WriteFile(ini, []byte(pgbouncerINI(port, server)), 0o600); err != nil {
		return nil, err
	}
	log := &lockedBuffer{}
	cmd := exec.Command(bin, ini)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // immediate shutdown
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			return nil, fmt.Errorf("pgbouncer exited at start:\n%s", log)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("pgbouncer did not listen on %s within 15s:\n%s", addr, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b := &PgBouncer{addr: addr, log: log}
	tb.Cleanup(func() {
		stop()
		if tb.Failed() {
			tb.Logf("pgbouncer log:\n%s", log)
		}
	})
	return b, nil
}

// pgbouncerINI is the configuration: every database of the server (the *
// entry) as the server URL's user, transaction pooling, few server
// connections handed out round robin, and no Unix socket, pid or log file.
// ignore_startup_parameters stays empty, so a connection parameter the
// engine sent and PgBouncer cannot pool fails the test.
func pgbouncerINI(port int, server *pgconn.Config) string {
	db := fmt.Sprintf("host=%s port=%d user=%s", iniValue(server.Host), server.Port, iniValue(server.User))
	if server.Password != "" {
		db += " password=" + iniValue(server.Password)
	}
	lines := []string{
		"[databases]",
		"* = " + db,
		"[pgbouncer]",
		"listen_addr = 127.0.0.1",
		fmt.Sprintf("listen_port = %d", port),
		"unix_socket_dir =",
		"auth_type = any",
		"pool_mode = transaction",
		fmt.Sprintf("default_pool_size = %d", PgBouncerPoolSize),
		"reserve_pool_size = 0",
		"max_client_conn = 500",
		"server_round_robin = 1",
	}
	if os.Geteuid() == 0 {
		lines = append(lines, "user = nobody") // PgBouncer refuses to run as root
	}
	return strings.Join(lines, "\n") + "\n"
}

// iniValue quotes a connection-string value for PgBouncer's [databases].
func iniValue(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("unexpected listener address %v", l.Addr())
	}
	return addr.Port, nil
}

// lockedBuffer collects a child's output while tests read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
