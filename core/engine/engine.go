// Package engine is the facade of tasker-core: every operation the C ABI, the
// demo and the tests perform goes through an Engine. It composes store calls
// into transactions and owns the rules: identity, backoff, finalization.
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasker-systems/tasker-core-go/core/backoff"
	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
	"github.com/tasker-systems/tasker-core-go/core/template"
)

// Config configures an Engine. The zero value of each field means its default.
type Config struct {
	// DefaultLease is the lease of a claim that does not ask for one (30s).
	DefaultLease time.Duration
	// MaxClaimBatch caps the steps one claim may take (1000).
	MaxClaimBatch int
	// LeaseRecoveryBatch caps the expired leases one claim call recovers (100).
	LeaseRecoveryBatch int
	// Backoff is the retry schedule for failures without a requested wait.
	Backoff *backoff.Config
	// Logger receives the engine's and its dispatchers' logs (discarded
	// when nil): migrations, lease rescues and operator actions at info,
	// each flush of reports at debug.
	Logger *slog.Logger
	// PoolSize is Open's number of connections (10).
	PoolSize int32
	// ConnectTimeout bounds Open's connect and ping (10s).
	ConnectTimeout time.Duration
	// LockTimeout, when > 0, is the lock_timeout of Open's sessions: a
	// statement waiting longer for a lock another transaction holds fails
	// with a LockTimeoutError instead of waiting until the call's deadline.
	// Test suites set it (a test's own open transaction holding a lock on
	// tasker_* tables would otherwise stall every engine call); 0 waits.
	LockTimeout time.Duration
	// PgBouncer says the pool reaches PostgreSQL through PgBouncer in
	// transaction pool mode (or another pooler that may give each
	// transaction a different server connection). The engine then keeps no
	// state on a connection between transactions: Open runs statements
	// without named prepared statements (pgx's cache_describe mode, unless
	// the URL sets default_query_exec_mode), New refuses a pool that
	// prepares them, and dispatchers LISTEN only on ListenURL.
	PgBouncer bool
	// ListenURL is a direct connection to PostgreSQL (not through a
	// pooler) where dispatchers LISTEN for ready steps. Empty means the
	// pool's own server, or, with PgBouncer, no LISTEN at all: dispatchers
	// then find work other processes made ready by polling
	// (dispatcher.Config.FetchPollInterval).
	ListenURL string
}

func (c Config) withDefaults() (Config, error) {
	if c.DefaultLease == 0 {
		c.DefaultLease = 30 * time.Second
	}
	if c.DefaultLease < 0 {
		return c, fmt.Errorf("default lease must be > 0, got %s", c.DefaultLease)
	}
	if c.MaxClaimBatch == 0 {
		c.MaxClaimBatch = 1000
	}
	if c.LeaseRecoveryBatch == 0 {
		c.LeaseRecoveryBatch = 100
	}
	if c.Backoff == nil {
		b := backoff.Default()
		c.Backoff = &b
	}
	if err := c.Backoff.Validate(); err != nil {
		return c, err
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PoolSize == 0 {
		c.PoolSize = 10
	}
	if c.PoolSize < 1 || c.PoolSize > 1000 {
		return c, fmt.Errorf("pool size must be within 1..1000, got %d", c.PoolSize)
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.LockTimeout < 0 {
		return c, fmt.Errorf("lock timeout must be >= 0 (0 waits for locks), got %s", c.LockTimeout)
	}
	return c, nil
}

// Engine runs workflows on one PostgreSQL database. It is safe for
// concurrent use.
type Engine struct {
	cfg      Config
	pool     *pgxpool.Pool
	ownsPool bool
	listen   *pgx.ConnConfig // nil: no LISTEN

	mu        sync.RWMutex
	templates map[int64]*template.Template // by named_task_id; a version never changes shape
}

// New returns an Engine on pool. The caller keeps ownership of the pool.
// With cfg.PgBouncer, a pool that caches prepared statements (pgx's default
// cache_statement mode) is a ValidationError.
func New(pool *pgxpool.Pool, cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.PgBouncer && pool.Config().ConnConfig.DefaultQueryExecMode == pgx.QueryExecModeCacheStatement {
		return nil, tt.NewValidationError("new", "pgbouncer",
			"the pool caches prepared statements (pgx's cache_statement mode), which PgBouncer in transaction mode "+
				"cannot keep: set its ConnConfig.DefaultQueryExecMode to pgx.QueryExecModeCacheDescribe")
	}
	listen, err := listenConfig(cfg, pool.Config().ConnConfig)
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, pool: pool, listen: listen, templates: map[int64]*template.Template{}}, nil
}

// Open connects to the database at url (a postgres:// URL or key=value
// string) with a pool of cfg.PoolSize connections, pings it and returns an
// Engine that owns the pool: Close closes it. A URL that does not parse is
// a ValidationError; a server that does not answer a DatabaseError or
// TimeoutError.
func Open(ctx context.Context, url string, cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, tt.NewValidationError("open", "", "%v", err)
	}
	if cfg.PgBouncer && cfg.LockTimeout > 0 {
		// It is a startup parameter, which PgBouncer refuses.
		return nil, tt.NewValidationError("open", "lock_timeout_ms",
			"cannot be set behind PgBouncer (pgbouncer: true): run the test suites that need it against PostgreSQL directly")
	}
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, tt.NewValidationError("open", "database_url", "cannot be parsed: %v", err)
	}
	pc.MaxConns = cfg.PoolSize
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	sessionParams(pc.ConnConfig.RuntimeParams, cfg)
	if cfg.PgBouncer && pc.ConnConfig.DefaultQueryExecMode == pgx.QueryExecModeCacheStatement {
		// Descriptions are cached in the client and every statement is
		// parsed unnamed in the round trip that runs it: nothing lives on
		// the server connection, and values keep their binary encoding.
		pc.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	}
	listen, err := listenConfig(cfg, pc.ConnConfig)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, tt.NewValidationError("open", "database_url", "%v", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, store.InterpretError("open: connect", err)
	}
	cfg.Logger.Info("tasker engine: connected", "host", pc.ConnConfig.Host, "database", pc.ConnConfig.Database,
		"pool_size", cfg.PoolSize, "pgbouncer", cfg.PgBouncer, "query_exec_mode", pc.ConnConfig.DefaultQueryExecMode.String(),
		"listen", listenTarget(listen))
	return &Engine{cfg: cfg, pool: pool, ownsPool: true, listen: listen, templates: map[int64]*template.Template{}}, nil
}

// listenConfig is where dispatchers LISTEN: ListenURL, else the pool's own
// server unless that is a pooler (nil: no LISTEN).
func listenConfig(cfg Config, pool *pgx.ConnConfig) (*pgx.ConnConfig, error) {
	if cfg.ListenURL != "" {
		c, err := pgx.ParseConfig(cfg.ListenURL)
		if err != nil {
			return nil, tt.NewValidationError("open", "listen_database_url", "cannot be parsed: %v", err)
		}
		c.ConnectTimeout = cfg.ConnectTimeout
		return c, nil
	}
	if cfg.PgBouncer {
		return nil, nil
	}
	return pool.Copy(), nil
}

func listenTarget(c *pgx.ConnConfig) string {
	if c == nil {
		return "none (polling)"
	}
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}

// sessionParams sets the engine's session settings, sent when each
// connection starts: its application_name (unless the URL gives one), so
// pg_stat_activity and LockHolders tell its sessions from the app's, and
// lock_timeout when configured.
func sessionParams(params map[string]string, cfg Config) {
	if params["application_name"] == "" {
		params["application_name"] = "tasker_core"
	}
	if cfg.LockTimeout > 0 {
		params["lock_timeout"] = strconv.FormatInt(max(cfg.LockTimeout.Milliseconds(), 1), 10)
	}
}

// Close closes the pool of an Engine made by Open; an Engine made by New
// leaves its caller's pool open.
func (e *Engine) Close() {
	if e.ownsPool {
		e.pool.Close()
	}
}

// Pool returns the engine's connection pool.
func (e *Engine) Pool() *pgxpool.Pool { return e.pool }

// ListenConfig returns a copy of the connection dispatchers LISTEN on for
// ready steps, or nil when they must poll instead (PgBouncer without
// ListenURL).
func (e *Engine) ListenConfig() *pgx.ConnConfig {
	if e.listen == nil {
		return nil
	}
	return e.listen.Copy()
}

// Logger returns the engine's logger (dispatchers log through it too).
func (e *Engine) Logger() *slog.Logger { return e.cfg.Logger }

// Migrate applies the embedded migrations not applied yet, each once even
// when several processes migrate at once.
func (e *Engine) Migrate(ctx context.Context) (*tt.MigrateResult, error) {
	res, err := store.Migrate(ctx, e.pool)
	if err != nil {
		return nil, store.InterpretError("migrate", err)
	}
	for _, m := range res.Applied {
		e.cfg.Logger.Info("tasker engine: migration applied", "version", m.Version, "name", m.Name)
	}
	return res, nil
}
