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

// optional reads the result of a query that may find no row: ok is false,
// and err nil, when it found none. With required, it is the one place the
// store looks at pgx.ErrNoRows.
func optional[T any](row T, err error) (_ T, ok bool, _ error) {
	if errors.Is(err, pgx.ErrNoRows) {
		var zero T
		return zero, false, nil
	}
	return row, err == nil, err
}

// required reads the result of a query that must find its row: none is a
// NotFoundError for the kind and id the caller asked for.
func required[T any](row T, err error, kind string, id int64) (T, error) {
	row, ok, err := optional(row, err)
	if err == nil && !ok {
		return row, &tt.NotFoundError{Kind: kind, Key: itoa(id)}
	}
	return row, err
}
