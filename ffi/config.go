package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/tasker-systems/tasker-core-go/core/backoff"
	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// initConfig is tasker_init's JSON: the only way configuration reaches the
// library (the Go runtime sees the environment as it was at exec time).
type initConfig struct {
	DatabaseURL      string         `json:"database_url"`
	PoolSize         int32          `json:"pool_size"`
	GOMAXPROCS       int            `json:"gomaxprocs"`
	MemoryLimitBytes int64          `json:"memory_limit_bytes"`
	LogLevel         string         `json:"log_level"`
	DefaultTimeoutMS int64          `json:"default_timeout_ms"`
	DefaultLeaseMS   int64          `json:"default_lease_ms"`
	ConnectTimeoutMS int64          `json:"connect_timeout_ms"`
	MaxClaimBatch    int            `json:"max_claim_batch"`
	Backoff          *backoffConfig `json:"backoff"`
	// LockTimeoutMS is the lock_timeout of the engine's sessions (0: wait).
	LockTimeoutMS int64 `json:"lock_timeout_ms"`
	// PgBouncer and ListenDatabaseURL: see engine.Config.PgBouncer and
	// ListenURL.
	PgBouncer         bool   `json:"pgbouncer"`
	ListenDatabaseURL string `json:"listen_database_url"`
}

// backoffConfig is backoff.Config in milliseconds.
type backoffConfig struct {
	BaseMS         int64   `json:"base_ms"`
	Multiplier     float64 `json:"multiplier"`
	MaxMS          int64   `json:"max_ms"`
	JitterFraction float64 `json:"jitter_fraction"`
}

// Defaults of tasker_init, documented in bindings/ABI.md.
const (
	defaultPoolSize       = 10
	defaultTimeout        = 30 * time.Second
	defaultConnectTimeout = 10 * time.Second
	maxTimeout            = 24 * time.Hour
)

// logOutput is where the library logs (tests swap it).
var logOutput io.Writer = os.Stderr

var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
}

// validate fills in defaults and lists every problem.
func (c *initConfig) validate() error {
	v := &tt.ValidationError{Op: "init"}
	add := func(field, format string, args ...any) {
		v.Problems = append(v.Problems, tt.FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	if c.DatabaseURL == "" {
		add("database_url", "is required (a postgres:// URL)")
	}
	if c.PoolSize == 0 {
		c.PoolSize = defaultPoolSize
	}
	if c.PoolSize < 1 || c.PoolSize > 1000 {
		add("pool_size", "must be within 1..1000, got %d", c.PoolSize)
	}
	if c.GOMAXPROCS < 0 || c.GOMAXPROCS > 1024 {
		add("gomaxprocs", "must be within 0..1024 (0 keeps the runtime's choice), got %d", c.GOMAXPROCS)
	}
	if c.MemoryLimitBytes < 0 {
		add("memory_limit_bytes", "must be >= 0 (0 keeps the runtime's limit), got %d", c.MemoryLimitBytes)
	}
	if c.LogLevel == "" {
		c.LogLevel = "warn"
	}
	if _, ok := logLevels[c.LogLevel]; !ok {
		add("log_level", "must be one of debug, info, warn, error, got %q", c.LogLevel)
	}
	for _, f := range []struct {
		name string
		ms   int64
	}{{"default_timeout_ms", c.DefaultTimeoutMS}, {"default_lease_ms", c.DefaultLeaseMS}, {"connect_timeout_ms", c.ConnectTimeoutMS},
		{"lock_timeout_ms", c.LockTimeoutMS}} {
		if f.ms < 0 || f.ms > maxTimeout.Milliseconds() {
			add(f.name, "must be within 0..%d (0 means the default), got %d", maxTimeout.Milliseconds(), f.ms)
		}
	}
	if c.MaxClaimBatch < 0 || c.MaxClaimBatch > 10_000 {
		add("max_claim_batch", "must be within 0..10000 (0 means 1000), got %d", c.MaxClaimBatch)
	}
	if c.Backoff != nil {
		if err := c.backoff().Validate(); err != nil {
			add("backoff", "%v", err)
		}
	}
	if len(v.Problems) > 0 {
		return v
	}
	return nil
}

func (c *initConfig) backoff() *backoff.Config {
	if c.Backoff == nil {
		return nil
	}
	return &backoff.Config{
		Base: time.Duration(c.Backoff.BaseMS) * time.Millisecond, Multiplier: c.Backoff.Multiplier,
		Max: time.Duration(c.Backoff.MaxMS) * time.Millisecond, JitterFraction: c.Backoff.JitterFraction,
	}
}

func (c *initConfig) engineConfig() engine.Config {
	return engine.Config{
		DefaultLease:   time.Duration(c.DefaultLeaseMS) * time.Millisecond,
		MaxClaimBatch:  c.MaxClaimBatch,
		Backoff:        c.backoff(),
		Logger:         slog.New(slog.NewTextHandler(logOutput, &slog.HandlerOptions{Level: logLevels[c.LogLevel]})),
		PoolSize:       c.PoolSize,
		ConnectTimeout: c.connectTimeout(),
		LockTimeout:    time.Duration(c.LockTimeoutMS) * time.Millisecond,
		PgBouncer:      c.PgBouncer,
		ListenURL:      c.ListenDatabaseURL,
	}
}

func (c *initConfig) connectTimeout() time.Duration {
	return msOr(c.ConnectTimeoutMS, defaultConnectTimeout)
}

func (c *initConfig) defaultTimeout() time.Duration {
	return msOr(c.DefaultTimeoutMS, defaultTimeout)
}

func msOr(ms int64, def time.Duration) time.Duration {
	if ms == 0 {
		return def
	}
	return time.Duration(ms) * time.Millisecond
}
