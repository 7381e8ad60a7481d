package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SQLOf exposes the SQL of a named query to the external tests (package
// store_test), which cannot be in package store: they use taskertest, which
// imports store.
func SQLOf(name string) string { return sqlOf(name) }

// ClaimReadyIDs runs the dispatcher's claim (StepDispatchReady) in tx and
// returns the ids it claimed.
func ClaimReadyIDs(ctx context.Context, tx pgx.Tx, p *StepDispatchParams) ([]int64, error) {
	var ids []int64
	b := &pgx.Batch{}
	QueueStepDispatchReady(b, p, &ids)
	return ids, tx.SendBatch(ctx, b).Close()
}
