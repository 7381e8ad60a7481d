package main

import (
	"context"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
)

// The demo runs end to end through PgBouncer in transaction mode (three
// server connections, handed out round robin, for three workers and a
// dispatcher), told so by TASKER_PGBOUNCER as a user would: every order is
// fulfilled, the failed payment retried.
func TestDemoThroughPgBouncer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name, dbURL, err := taskertest.CreateDatabase(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := taskertest.DropDatabase(context.Background(), name); err != nil {
			t.Error(err)
		}
	})
	bouncer := taskertest.StartPgBouncer(t)
	bouncer.OpenServers(t, bouncer.URL(t, dbURL))
	t.Setenv("DATABASE_URL", bouncer.URL(t, taskertest.ServerURL()))
	t.Setenv("TASKER_PGBOUNCER", "1")
	t.Setenv("TASKER_LISTEN_DATABASE_URL", "")
	code, err := run(ctx, 3, time.Minute, name)
	if err != nil {
		t.Fatalf("demo through PgBouncer: %v", err)
	}
	if code != 0 {
		t.Fatalf("demo through PgBouncer exited %d: not every order was fulfilled (its output is above)", code)
	}
}
