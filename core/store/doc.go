// Package store is the only package of tasker-core with SQL. Its migrations
// live in migration/ and its queries in queries/<table>.sql as
// `-- name: QueryName` blocks; each named query has one Go function of that
// name here, taking a ctx, a DBTX (pool or transaction) and its parameters.
//
// Store functions do one statement each (or one small group that must run
// together); the engine composes them into transactions.
package store
