package dispatcher_test

import (
	"testing"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
)

func TestMain(m *testing.M) { taskertest.Main(m) }
