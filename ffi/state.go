package main

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// engineState is what tasker_init builds and tasker_shutdown tears down.
type engineState struct {
	engine         *engine.Engine
	pool           *pgxpool.Pool
	defaultTimeout time.Duration
	logger         *slog.Logger

	dispatchersMu sync.Mutex
	dispatchers   map[*Dispatcher]struct{} // started and not yet stopped
}

var (
	stateMu sync.RWMutex
	state   *engineState // nil before tasker_init and after tasker_shutdown
)

// current returns the live engine state, or notInitializedError.
func current() (*engineState, error) {
	stateMu.RLock()
	defer stateMu.RUnlock()
	if state == nil {
		return nil, notInitializedError{}
	}
	return state, nil
}

// start applies cfg to the runtime, opens and pings the pool and builds the
// engine. It holds the state lock throughout, so two inits cannot race.
func start(cfg *initConfig) error {
	stateMu.Lock()
	defer stateMu.Unlock()
	if state != nil {
		return tt.NewValidationError("init", "", "already initialized: call tasker_shutdown before initializing again")
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	ec := cfg.engineConfig()
	eng, err := engine.Open(context.Background(), cfg.DatabaseURL, ec)
	if err != nil {
		return err
	}
	if cfg.GOMAXPROCS > 0 {
		runtime.GOMAXPROCS(cfg.GOMAXPROCS)
	}
	if cfg.MemoryLimitBytes > 0 {
		debug.SetMemoryLimit(cfg.MemoryLimitBytes)
	}
	state = &engineState{engine: eng, pool: eng.Pool(), defaultTimeout: cfg.defaultTimeout(), logger: ec.Logger,
		dispatchers: map[*Dispatcher]struct{}{}}
	return nil
}

// stop detaches the state, stops its dispatchers and closes its pool, all
// within timeout. Calls already running keep their engine and finish (or
// fail) on their own; new calls get not_initialized.
func stop(timeout time.Duration) error {
	stateMu.Lock()
	s := state
	state = nil
	stateMu.Unlock()
	if s == nil {
		return notInitializedError{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s.stopDispatchers(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { _ = recover() }() // a panic here must not kill the host
		s.engine.Close()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return &tt.TimeoutError{Op: "shutdown", Err: context.DeadlineExceeded}
	}
}
