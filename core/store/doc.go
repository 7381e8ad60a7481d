// Package store is the only package of tasker-core with SQL. Its migrations
// live in migration/ and its queries in queries/<table>.sql as
// `-- name: QueryName :kind` blocks, from which sqlc generates
// internal/dbsqlc (sqlc.yaml; `make generate`). Each named query has one Go
// function of that name here, taking a ctx, a DBTX (pool or transaction) and
// its parameters, and calling the generated code; the dispatcher's Queue*
// helpers add the generated SQL to one pgx.Batch. The queries of
// tasker_workflow_steps.sql are still found by name (queries.go) until they
// move to sqlc too.
//
// Store functions do one statement each (or one small group that must run
// together); the engine composes them into transactions.
package store
