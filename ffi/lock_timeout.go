package main

import (
	"context"
	"errors"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// explainLockTimeout asks the engine who held the lock a call gave up
// waiting for (Engine.ExplainLockTimeout), so the error JSON names the
// session; every other error passes through untouched.
func explainLockTimeout(err error) error {
	var lt *tt.LockTimeoutError
	if !errors.As(err, &lt) {
		return err
	}
	s, sErr := current()
	if sErr != nil {
		return err
	}
	return s.engine.ExplainLockTimeout(context.Background(), err)
}
