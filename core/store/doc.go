// Package store is the only package of tasker-core with SQL. Its migrations
// live in migration/ and its queries in queries/<table>.sql as
// `-- name: QueryName :kind` blocks, from which sqlc generates
// internal/dbsqlc (sqlc.yaml; `make generate`). Each named query has one Go
// function of that name here, taking a ctx, a DBTX (pool or transaction) and
// its parameters, and calling the generated code; the dispatcher's Queue*
// helpers add the generated SQL to one pgx.Batch. Two reads (StepReadiness,
// StepsForTask) run the generated SQL but scan by hand, because sqlc cannot
// tell that some of their columns may be NULL; nothing is looked up by name
// at run time.
//
// Store functions do one statement each (or one small group that must run
// together); the engine composes them into transactions.
package store
