// Package engine is the facade of tasker-core: every operation the C ABI, the
// demo and the tests perform goes through an Engine. It composes store calls
// into transactions and owns the rules: identity, backoff, finalization.
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasker-systems/tasker-core-go/core/backoff"
	"github.com/tasker-systems/tasker-core-go/core/store"
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
	Logger  *slog.Logger
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
	return c, nil
}

// Engine runs workflows on one PostgreSQL database. It is safe for
// concurrent use.
type Engine struct {
	cfg  Config
	pool *pgxpool.Pool

	mu        sync.RWMutex
	templates map[int64]*template.Template // by named_task_id; a version never changes shape
}

// New returns an Engine on pool. The caller keeps ownership of the pool.
func New(pool *pgxpool.Pool, cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, pool: pool, templates: map[int64]*template.Template{}}, nil
}

// Pool returns the engine's connection pool.
func (e *Engine) Pool() *pgxpool.Pool { return e.pool }

// Migrate applies the embedded migrations; see store.Migrate.
func (e *Engine) Migrate(ctx context.Context) (*store.MigrateResult, error) {
	return store.Migrate(ctx, e.pool)
}
