package taskertype

import (
	"fmt"
	"strings"
	"time"
)

// LockTimeoutError is a statement that gave up waiting for a lock another
// transaction holds (PostgreSQL's lock_timeout, SQLSTATE 55P03). Its code is
// timeout, with details.reason "lock_timeout". The call's transaction was
// rolled back.
//
// Waiting is what the engine's sessions do when they have no lock_timeout;
// with one (the engine's LockTimeout setting, which test suites set), a
// lock held by a transaction that will not end while the caller waits, such
// as a test's own open transaction that truncated tasker_tasks, fails fast
// with this error instead of hanging until the call's deadline.
type LockTimeoutError struct {
	Op  string
	Err error
	// Holders are the other sessions that held locks on tasker_* tables
	// right after the wait gave up (filled by Engine.ExplainLockTimeout;
	// empty when none was found or nobody asked).
	Holders []LockHolder
}

// LockHolder is a session holding locks on tasker_* tables in an open
// transaction.
type LockHolder struct {
	PID             int32     `json:"pid"`
	ApplicationName string    `json:"application_name"`
	State           string    `json:"state"`
	TransactionAge  float64   `json:"transaction_age_seconds"`
	XactStart       time.Time `json:"xact_start"`
	Query           string    `json:"query"`
	Locks           []string  `json:"locks"` // "AccessExclusiveLock on tasker_tasks"
}

func (h LockHolder) String() string {
	app := ""
	if h.ApplicationName != "" {
		app = fmt.Sprintf(" %q", h.ApplicationName)
	}
	return fmt.Sprintf("pid %d%s (%s, transaction open %.1fs) holds %s; its last statement: %q",
		h.PID, app, h.State, h.TransactionAge, strings.Join(h.Locks, ", "), h.Query)
}

func (e *LockTimeoutError) Error() string {
	msg := fmt.Sprintf("%s: gave up waiting for a lock on tasker_* tables held by another transaction (lock_timeout)", e.Op)
	if len(e.Holders) == 0 {
		return msg
	}
	parts := make([]string, len(e.Holders))
	for i, h := range e.Holders {
		parts[i] = h.String()
	}
	return msg + ": " + strings.Join(parts, "; ")
}
func (e *LockTimeoutError) Unwrap() error { return e.Err }
func (e *LockTimeoutError) Code() Code    { return CodeTimeout }
func (e *LockTimeoutError) Details() map[string]any {
	holders := e.Holders
	if holders == nil {
		holders = []LockHolder{}
	}
	return map[string]any{"op": e.Op, "reason": "lock_timeout", "sqlstate": "55P03", "holders": holders}
}
