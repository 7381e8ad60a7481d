// Package taskertype holds the types every other package of tasker-core shares:
// states, request parameters, result structs and typed errors with their stable
// ABI codes. It imports nothing of ours, so the store, the engine and the C ABI
// can all depend on it without cycles.
//
// JSON tags are snake_case: they are the field names of the C ABI.
package taskertype
