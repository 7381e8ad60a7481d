// Package taskertest gives tests a real PostgreSQL database of their own.
// It is for tests only and not stable.
//
// The server comes from DATABASE_URL (default: the local server on
// 127.0.0.1:5432 as postgres). Each test binary creates its own database on
// it, migrates it, and drops it when done, so tests never touch data they did
// not create.
package taskertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasker-systems/tasker-core-go/core/backoff"
	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/store"
)

// DefaultServerURL is used when DATABASE_URL is not set.
const DefaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL is the URL of the server tests create their databases on.
func ServerURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return DefaultServerURL
}

var (
	shared     *pgxpool.Pool
	sharedURL  string
	sharedName string
	sharedMu   sync.Mutex
)

// Main runs a package's tests on a fresh migrated database and drops it
// afterwards. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	sharedMu.Lock()
	if shared != nil {
		shared.Close()
		if err := DropDatabase(context.Background(), sharedName); err != nil {
			fmt.Fprintln(os.Stderr, "taskertest:", err)
		}
	}
	sharedMu.Unlock()
	os.Exit(code)
}

// Pool returns the package's migrated database, creating it on first use.
func Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		name, dbURL, err := CreateDatabase(ctx, "pkg")
		if err != nil {
			tb.Fatalf("taskertest: %v", err)
		}
		pool, err := Connect(ctx, dbURL, 20)
		if err != nil {
			tb.Fatalf("taskertest: %v", err)
		}
		if _, err := store.Migrate(ctx, pool); err != nil {
			tb.Fatalf("taskertest: migrate: %v", err)
		}
		shared, sharedURL, sharedName = pool, dbURL, name
	}
	return shared
}

// URL returns the connection URL of the package's database.
func URL(tb testing.TB) string {
	Pool(tb)
	return sharedURL
}

// FreshDatabase creates an empty, unmigrated database dropped at cleanup.
func FreshDatabase(tb testing.TB) (*pgxpool.Pool, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, dbURL, err := CreateDatabase(ctx, "fresh")
	if err != nil {
		tb.Fatalf("taskertest: %v", err)
	}
	pool, err := Connect(ctx, dbURL, 20)
	if err != nil {
		tb.Fatalf("taskertest: %v", err)
	}
	tb.Cleanup(func() {
		pool.Close()
		if err := DropDatabase(context.Background(), name); err != nil {
			tb.Errorf("taskertest: %v", err)
		}
	})
	return pool, dbURL
}

// Connect opens a pool of at most maxConns connections.
func Connect(ctx context.Context, dbURL string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = maxConns
	return pgxpool.NewWithConfig(ctx, cfg)
}

// CreateDatabase creates a database with a unique name on the test server and
// returns its name and URL.
func CreateDatabase(ctx context.Context, purpose string) (name, dbURL string, err error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name = "tasker_test_" + purpose + "_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return "", "", fmt.Errorf("connect to test server %s (set DATABASE_URL): %w", redact(ServerURL()), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", "", fmt.Errorf("create test database %s: %w", name, err)
	}
	u, err := url.Parse(ServerURL())
	if err != nil {
		return "", "", err
	}
	u.Path = "/" + name
	return name, u.String(), nil
}

// DropDatabase drops a database created by CreateDatabase.
func DropDatabase(ctx context.Context, name string) error {
	if !strings.HasPrefix(name, "tasker_test_") {
		return fmt.Errorf("refusing to drop %q: not a test database", name)
	}
	conn, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// FastBackoff retries almost at once, so retry paths run in milliseconds.
func FastBackoff() *backoff.Config {
	return &backoff.Config{Base: 5 * time.Millisecond, Multiplier: 1, Max: 5 * time.Millisecond}
}

// Engine returns an engine on the package's database with fast retries.
func Engine(tb testing.TB) *engine.Engine {
	tb.Helper()
	e, err := engine.New(Pool(tb), engine.Config{Backoff: FastBackoff()})
	if err != nil {
		tb.Fatalf("taskertest: %v", err)
	}
	return e
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// Namespace returns a namespace unique to this test, so tests that claim
// "any ready step" in it never take another test's steps.
func Namespace(tb testing.TB) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := strings.ToLower(nonWord.ReplaceAllString(tb.Name(), "_"))
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	return strings.Trim(name, "_") + "_" + hex.EncodeToString(b[:])
}

func redact(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	return parsed.Redacted()
}
