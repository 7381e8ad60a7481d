package dispatcher

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
)

// NotifyChannel is where the engine announces ready steps; the payload is
// their namespace, or empty for any.
const NotifyChannel = "tasker_steps_ready"

// listen wakes the producer on every notification for this worker's
// namespaces. pgxlisten keeps one connection of its own and reconnects after
// an outage; the producer's poll covers the gap.
//
// Behind PgBouncer in transaction mode a LISTEN through the pooler hears
// nothing (its server connection goes back to the pool at once), so the
// engine gives a direct connection (engine.Config.ListenURL) or none: then
// the poll alone finds work other processes made ready, and the local
// handoff still gives this worker's own children to its executors at once.
func (d *Dispatcher) listen(ctx context.Context) {
	cfg := d.eng.ListenConfig()
	if cfg == nil {
		d.cfg.Logger.Info("tasker dispatcher: no LISTEN connection (PgBouncer without a listen URL): polling for ready steps",
			"worker_id", d.cfg.WorkerID, "fetch_poll_interval", d.cfg.FetchPollInterval)
		return
	}
	l := &pgxlisten.Listener{
		Connect:        func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, cfg) },
		ReconnectDelay: time.Second,
		LogError: func(_ context.Context, err error) {
			if ctx.Err() == nil {
				d.cfg.Logger.Warn("tasker dispatcher: listener", "worker_id", d.cfg.WorkerID, "error", err)
			}
		},
	}
	l.Handle(NotifyChannel, pgxlisten.HandlerFunc(func(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
		if n.Payload == "" || len(d.cfg.Namespaces) == 0 || slices.Contains(d.cfg.Namespaces, n.Payload) {
			d.wake()
		}
		return nil
	}))
	// A committed task request wakes the intake (intake.go).
	l.Handle(RequestChannel, pgxlisten.HandlerFunc(func(context.Context, *pgconn.Notification, *pgx.Conn) error {
		d.wakeIntakeNow()
		return nil
	}))
	_ = l.Listen(ctx) // returns only when ctx ends
}
