package store

import (
	"context"
	"errors"
	"time"

	"github.com/goccy/go-json"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// DBTX is what a query needs: a pool, a connection or a transaction.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// InTx runs fn in a transaction, committing when it returns nil. A deadlock
// or serialization failure (possible when an operator action races workers on
// the same task) rolls back and runs fn again, a few times.
func InTx(ctx context.Context, pool *pgxpool.Pool, op string, fn func(tx pgx.Tx) error) error {
	const attempts = 5
	var err error
	for i := range attempts {
		err = pgx.BeginFunc(ctx, pool, fn)
		if !retryable(err) {
			break
		}
		select {
		case <-ctx.Done():
			return InterpretError(op, ctx.Err())
		case <-time.After(time.Duration(i+1) * 5 * time.Millisecond):
		}
	}
	return InterpretError(op, err)
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// PoolerHint explains the errors of named prepared statements used through a
// pooler that shares server connections between transactions.
const PoolerHint = "is a connection pooler in transaction mode (PgBouncer) in between? " +
	"Configure the engine for it: pgbouncer: true (TASKER_PGBOUNCER=1), see \"Running behind PgBouncer\""

// InterpretError gives database errors their ABI meaning; errors that already
// carry a code pass through unchanged.
//
// JSON that PostgreSQL's jsonb cannot hold (a \u0000 in a string, numbers
// out of range) is the caller's input, so it is a validation error.
func InterpretError(op string, err error) error {
	if err == nil {
		return nil
	}
	var coded tt.Coded
	if errors.As(err, &coded) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || pgconn.Timeout(err) {
		return &tt.TimeoutError{Op: op, Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57014": // query_canceled: statement_timeout or cancel
			return &tt.TimeoutError{Op: op, Err: err}
		case "55P03": // lock_not_available: the session's lock_timeout passed
			return &tt.LockTimeoutError{Op: op, Err: err}
		case "22P05", "22P02", "22003", "54001": // untranslatable character, invalid text, out of range, too complex
			return tt.NewValidationError(op, "", "PostgreSQL cannot store this JSON: %s", pgErr.Message)
		case "TK001": // the transition trigger refused a move tasker_transition_rules does not list
			if ite := refusedTransition(pgErr); ite != nil {
				return ite
			}
		case "26000", "42P05": // a prepared statement missing, or there already: the connection changed under us
			return &tt.DatabaseError{Op: op, Err: err, SQLState: pgErr.Code, Hint: PoolerHint}
		}
		return &tt.DatabaseError{Op: op, Err: err, SQLState: pgErr.Code}
	}
	return &tt.DatabaseError{Op: op, Err: err}
}

// SetTransitionMetadata makes meta (a JSON object) the metadata of every
// transition row the rest of the transaction writes, until set again.
func SetTransitionMetadata(ctx context.Context, tx DBTX, meta []byte) error {
	_, err := tx.Exec(ctx, "SELECT set_config('tasker.transition_metadata', $1, true)", string(meta))
	return err
}

// Ping makes one round trip to the server, waiting there sleepMS milliseconds.
func Ping(ctx context.Context, db DBTX, sleepMS int64) error {
	return queries.Ping(ctx, db, float64(sleepMS))
}

// refusedTransition reads the move the transition trigger refused from its
// DETAIL (migration 005).
func refusedTransition(pgErr *pgconn.PgError) *tt.InvalidTransitionError {
	var d struct {
		Entity string `json:"entity"`
		ID     int64  `json:"id"`
		From   string `json:"from"`
		To     string `json:"to"`
	}
	if json.Unmarshal([]byte(pgErr.Detail), &d) != nil || d.Entity == "" {
		return nil
	}
	return &tt.InvalidTransitionError{Entity: d.Entity, ID: d.ID, From: d.From, To: d.To}
}
