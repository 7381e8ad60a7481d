package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// ClaimReadyIDs runs the dispatcher's claim (StepDispatchReady) in tx and
// returns the ids it claimed.
func ClaimReadyIDs(ctx context.Context, tx pgx.Tx, p *StepDispatchParams) ([]int64, error) {
	var ids []int64
	b := &pgx.Batch{}
	QueueStepDispatchReady(b, p, &ids)
	return ids, tx.SendBatch(ctx, b).Close()
}
