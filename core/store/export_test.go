package store

// SQLOf exposes the SQL of a named query to the external tests (package
// store_test), which cannot be in package store: they use taskertest, which
// imports store.
func SQLOf(name string) string { return sqlOf(name) }
