package store_test

import (
	"testing"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
)

// TestMain gives the package's tests one migrated database of their own,
// dropped when they finish.
func TestMain(m *testing.M) { taskertest.Main(m) }
