package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// TestConcurrentWorkers runs diamonds from several goroutines at once, as
// Ruby threads would, with handles churning and panics recovered in between.
func TestConcurrentWorkers(t *testing.T) {
	checkHandles(t)
	const workers = 6
	ns := registerDiamond(t)
	for i := range workers {
		initializeTask(t, ns, fmt.Sprintf(`{"worker":%d}`, i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for {
				claim := callJSON(exportStepClaim, ptr(fmt.Sprintf(`{"namespaces":[%q],"limit":2,"worker_id":"w%d"}`, ns, w)), 10_000)
				if claim.rc != 0 {
					errs <- fmt.Errorf("claim: %s", claim.errJSON)
					return
				}
				s, c := callHandleJSON(claim.handle)
				callHandleFree(claim.handle)
				if c.rc != 0 {
					errs <- fmt.Errorf("handle json: %s", c.errJSON)
					return
				}
				var batch tt.ClaimResult
				if err := jsonUnmarshal(s, &batch); err != nil {
					errs <- err
					return
				}
				if len(batch.Steps) == 0 {
					return // the last worker to complete anything claims again
				}
				callDebugPanic()
				for _, st := range batch.Steps {
					done := callJSON(exportStepComplete, ptr(fmt.Sprintf(`{"step_id":%d,"claim_token":%q,"results":{"w":%d}}`, st.WorkflowStepID, st.ClaimToken, w)), 10_000)
					if done.rc != 0 {
						errs <- fmt.Errorf("complete: %s", done.errJSON)
						return
					}
					callHandleFree(done.handle)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var n int64
	require.NoError(t, testPool.QueryRow(t.Context(), `SELECT count(*) FROM tasker_tasks t JOIN tasker_named_tasks nt USING (named_task_id)
		JOIN tasker_task_namespaces ns USING (task_namespace_id) WHERE ns.name = $1 AND t.status = 'complete'`, ns).Scan(&n))
	require.EqualValues(t, workers, n)
}

// TestNoBannedCalls keeps the library's non-test sources free of calls that
// would take down or confuse the host process.
func TestNoBannedCalls(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, banned := range []string{"os.Exit", "log.Fatal", `"os/signal"`, `"os/exec"`, "os.Getenv", "signal.Notify"} {
			require.NotContains(t, string(src), banned, "%s uses %s", f, banned)
		}
	}
}
