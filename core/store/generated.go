package store

import (
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/store/internal/dbsqlc"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// queries runs the code sqlc generates from queries/*.sql (sqlc.yaml):
// typed parameters and rows, each call given the caller's DBTX.
var queries = dbsqlc.New()

// noRow reports whether err is a query finding no row: the one place the
// store reads pgx.ErrNoRows (through optional and notFound).
func noRow(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// optional reads the result of a query that may find no row: ok is false,
// and err nil, when it found none.
func optional[T any](row T, err error) (_ T, ok bool, _ error) {
	if noRow(err) {
		var zero T
		return zero, false, nil
	}
	return row, err == nil, err
}

// notFound makes a query's missing row a NotFoundError for the kind and id
// the caller asked for; other errors pass through.
func notFound(err error, kind string, id int64) error {
	if noRow(err) {
		return &tt.NotFoundError{Kind: kind, Key: itoa(id)}
	}
	return err
}
