package dispatcher

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Config configures a Dispatcher. The zero value of each field means its
// default.
type Config struct {
	// WorkerID names this worker in claims and logs (required, at most 255
	// bytes). It must be unique among live workers.
	WorkerID string
	// Namespaces restricts claims to tasks of these namespaces; empty means
	// every namespace.
	Namespaces []string
	// Templates restricts claims to tasks of these template versions (their
	// namespaces become Namespaces; set one or the other), so a worker never
	// claims a version it has no handler for, as in a rolling deploy. Each
	// must be registered when the dispatcher starts.
	Templates []tt.TemplateKey
	// Lease is how long a claim holds without a heartbeat (30s). The
	// dispatcher extends the leases of running steps every Lease/3.
	Lease time.Duration
	// DefaultStepTimeout bounds a step whose template sets no
	// timeout_seconds (5m).
	DefaultStepTimeout time.Duration
	// FetchCooldown is the least time between two claims (2ms).
	FetchCooldown time.Duration
	// FetchPollInterval is the longest time between two claims while
	// executors wait and no notification arrives (1s).
	FetchPollInterval time.Duration
	// MaxBatch caps the steps one claim takes and the reports one flush
	// records (500).
	MaxBatch int
	// RescueInterval is how often the maintenance loop looks for expired
	// leases (5s).
	RescueInterval time.Duration
	// StuckInterval is how often the maintenance leader looks for stuck
	// work (steps past their lease or timeout, tasks with nothing runnable)
	// and records it in tasker_stuck_work (1m). Steps whose template sets
	// no timeout are judged by DefaultStepTimeout, so give every worker the
	// same one.
	StuckInterval time.Duration
	// Logger receives the dispatcher's warnings and errors (the engine's
	// logger when nil).
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.WorkerID == "" {
		return c, fmt.Errorf("worker_id is required")
	}
	if len(c.WorkerID) > 255 {
		return c, fmt.Errorf("worker_id must be at most 255 bytes, got %d", len(c.WorkerID))
	}
	for i, ns := range c.Namespaces {
		if ns == "" {
			return c, fmt.Errorf("namespaces[%d] must not be empty", i)
		}
	}
	if len(c.Templates) > 0 {
		if len(c.Namespaces) > 0 {
			return c, fmt.Errorf("set namespaces or templates, not both (templates imply their namespaces)")
		}
		for i, k := range c.Templates {
			if k.Namespace == "" || k.Name == "" || k.Version == "" {
				return c, fmt.Errorf("templates[%d] needs namespace, name and version, got %q", i, k.String())
			}
			if !slices.Contains(c.Namespaces, k.Namespace) {
				c.Namespaces = append(c.Namespaces, k.Namespace)
			}
		}
	}
	def := func(d *time.Duration, v time.Duration, name string, least time.Duration) error {
		if *d == 0 {
			*d = v
		}
		if *d < least {
			return fmt.Errorf("%s must be at least %s, got %s", name, least, *d)
		}
		return nil
	}
	for _, f := range []struct {
		d        *time.Duration
		v, least time.Duration
		name     string
	}{
		{&c.Lease, 30 * time.Second, 100 * time.Millisecond, "lease"},
		{&c.DefaultStepTimeout, 5 * time.Minute, time.Second, "default_step_timeout"},
		{&c.FetchCooldown, 2 * time.Millisecond, time.Microsecond, "fetch_cooldown"},
		{&c.FetchPollInterval, time.Second, time.Millisecond, "fetch_poll_interval"},
		{&c.RescueInterval, 5 * time.Second, 10 * time.Millisecond, "rescue_interval"},
		{&c.StuckInterval, time.Minute, 10 * time.Millisecond, "stuck_interval"},
	} {
		if err := def(f.d, f.v, f.name, f.least); err != nil {
			return c, err
		}
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 500
	}
	if c.MaxBatch < 1 || c.MaxBatch > 1000 {
		return c, fmt.Errorf("max_batch must be within 1..1000, got %d", c.MaxBatch)
	}
	return c, nil
}
