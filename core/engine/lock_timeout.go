package engine

import (
	"context"
	"errors"
	"time"

	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// maxLockHolders caps the sessions a LockTimeoutError names.
const maxLockHolders = 3

// ExplainLockTimeout fills in the Holders of a LockTimeoutError in err (the
// other sessions holding locks on tasker_* tables in open transactions,
// looked up now that the wait has given up), so its message says who held
// the lock. Any other error is returned as it is. The lookup reads
// pg_locks and pg_stat_activity, waits for no lock, and gets at most two
// seconds whatever ctx's deadline; when it fails the error stays as it was.
func (e *Engine) ExplainLockTimeout(ctx context.Context, err error) error {
	var lt *tt.LockTimeoutError
	if !errors.As(err, &lt) || lt.Holders != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	holders, lookupErr := store.LockHolders(ctx, e.pool, maxLockHolders)
	if lookupErr != nil {
		e.cfg.Logger.Warn("tasker engine: cannot list the holders of a lock", "op", lt.Op, "error", lookupErr)
		return err
	}
	lt.Holders = holders
	return err
}
