package store_test

// The claim path must cost O(steps claimed), not O(steps in the table):
// TestClaimPathUsesReadyIndex checks the plan, BenchmarkClaimWithFinishedBacklog
// measures it. Reproduce the benchmark with
//
//	go test ./core/store/ -run '^$' -bench BenchmarkClaimWithFinishedBacklog -benchtime 200x -count 1
//
// It prints the time of one claim of 10 ready steps plus their 10
// completions with 0 and with 20,000 finished steps in the table, and the
// ratio of the two (about 1x when the ready index does its job). Commits are
// asynchronous in the benchmark (see newClaimEnv).

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	"github.com/tasker-systems/tasker-core-go/core/store/internal/dbsqlc"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

const (
	planNamespace   = "claim_plan"
	planWideSteps   = 100 // steps per backlog task
	planReadySteps  = 10  // steps per ready task, all roots
	planClaimsPerOp = 10
)

// TestClaimPathUsesReadyIndex plans the dispatcher's claim over a table of 2,000
// finished steps and a few ready ones: the candidates must come from the
// partial index index_workflow_steps_ready, never from a sequential scan of
// tasker_workflow_steps, with and without a namespace filter, and with a
// template filter.
func TestClaimPathUsesReadyIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newClaimEnv(t, 2000, false)
	env.addReadyTasks(t, 1)
	env.analyze(t)

	var namedTaskIDs []int64
	if err := env.pool.QueryRow(ctx, "SELECT array_agg(named_task_id) FROM tasker_named_tasks").Scan(&namedTaskIDs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		namespaces   []string
		namedTaskIDs []int64
	}{{[]string{planNamespace}, []int64{}}, {[]string{planNamespace}, namedTaskIDs}, {[]string{}, nil}} {
		namespaces := c.namespaces
		t.Run(fmt.Sprintf("namespaces=%v,templates=%v", namespaces, c.namedTaskIDs), func(t *testing.T) {
			var plan []byte
			query, args := dbsqlc.StepDispatchReady, []any{namespaces, c.namedTaskIDs, 1000, "plan", int64(1000)}
			if len(namespaces) == 0 {
				query, args = dbsqlc.StepDispatchReadyAny, []any{namespaces, 1000, "plan", int64(1000)}
			}
			err := env.pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+query, args...).Scan(&plan)
			if err != nil {
				t.Fatal(err)
			}
			var doc []struct{ Plan planNode }
			if err := json.Unmarshal(plan, &doc); err != nil || len(doc) != 1 {
				t.Fatalf("unexpected EXPLAIN output (%v): %s", err, plan)
			}
			var usesReady bool
			var problems []string
			doc[0].Plan.walk(func(n *planNode) {
				if strings.HasPrefix(n.IndexName, "index_workflow_steps_ready") {
					usesReady = true
				}
				if n.RelationName == "tasker_workflow_steps" && strings.Contains(n.NodeType, "Seq Scan") {
					problems = append(problems, "sequential scan of tasker_workflow_steps")
				}
			})
			if !usesReady {
				problems = append(problems, "neither index_workflow_steps_ready nor its by-namespace twin is used")
			}
			// The template filter probes each candidate's task; a hashed
			// subplan would read every task of the templates on each claim
			// (O(tasks), not O(steps claimed)).
			doc[0].Plan.walk(func(n *planNode) {
				if strings.Contains(n.Filter, "hashed SubPlan") {
					problems = append(problems, "a hashed subplan filters the candidates: "+n.Filter)
				}
			})
			if len(problems) > 0 {
				t.Fatalf("claim plan: %s\n%s", strings.Join(problems, "; "), indentJSON(plan))
			}

			// The plan holds in practice: the claim reads only ready rows.
			tx, err := env.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			ids, err := store.ClaimReadyIDs(ctx, tx, &store.StepDispatchParams{Namespaces: namespaces, NamedTaskIDs: c.namedTaskIDs, Limit: 1000, WorkerID: "plan", LeaseMS: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != planReadySteps {
				t.Fatalf("claimed %d steps, want the %d ready ones", len(ids), planReadySteps)
			}
		})
	}
}

// planNode is the part of an EXPLAIN (FORMAT JSON) node the test reads.
type planNode struct {
	NodeType     string     `json:"Node Type"`
	Filter       string     `json:"Filter"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	Plans        []planNode `json:"Plans"`
}

func (n *planNode) walk(fn func(*planNode)) {
	fn(n)
	for i := range n.Plans {
		n.Plans[i].walk(fn)
	}
}

func indentJSON(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	return string(out)
}

// BenchmarkClaimWithFinishedBacklog measures one claim of 10 ready steps plus
// their completions, on a database with no finished steps and on one with
// 20,000. Each sub-benchmark has a database of its own.
func BenchmarkClaimWithFinishedBacklog(b *testing.B) {
	backlogs := []int{0, 20000}
	perOp := map[int]time.Duration{}
	blocks := map[int]int{}
	for _, backlog := range backlogs {
		env := newClaimEnv(b, backlog, true)
		env.analyze(b)
		b.Run(fmt.Sprintf("finished=%d", backlog), func(b *testing.B) {
			ctx := context.Background()
			env.addReadyTasks(b, (b.N*planClaimsPerOp+planReadySteps-1)/planReadySteps)
			b.ResetTimer()
			for range b.N {
				res, err := env.e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{planNamespace}, Limit: planClaimsPerOp, WorkerID: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Steps) != planClaimsPerOp {
					b.Fatalf("claimed %d steps, want %d", len(res.Steps), planClaimsPerOp)
				}
				for _, s := range res.Steps {
					if _, err := env.e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken,
						Results: json.RawMessage(`{"ok":true}`)}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			d := b.Elapsed() / time.Duration(b.N)
			perOp[backlog] = d
			b.ReportMetric(float64(d.Microseconds())/1000/planClaimsPerOp, "ms/step")
			// Timings move with the machine's load; the buffers one claim
			// touches do not, and show the cost directly.
			env.addReadyTasks(b, 1)
			blocks[backlog] = env.claimBlocks(b)
			b.ReportMetric(float64(blocks[backlog]), "claim-blocks")
		})
	}
	base, big := perOp[backlogs[0]], perOp[backlogs[1]]
	if base > 0 && big > 0 {
		fmt.Printf("claim+complete of %d ready steps: %.2f ms with %d finished steps in the table, %.2f ms with %d (%.2fx); "+
			"buffers one claim touches: %d vs %d\n",
			planClaimsPerOp, ms(base), backlogs[0], ms(big), backlogs[1], float64(big)/float64(base),
			blocks[backlogs[0]], blocks[backlogs[1]])
	}
}

// claimBlocks runs one claim of planClaimsPerOp steps under EXPLAIN (ANALYZE,
// BUFFERS), rolled back, and returns the shared buffers it touched.
func (env *claimEnv) claimBlocks(tb testing.TB) int {
	tb.Helper()
	ctx := context.Background()
	tx, err := env.pool.Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	var out []byte
	if err := tx.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+dbsqlc.StepDispatchReady,
		[]string{planNamespace}, planClaimsPerOp, "bench", int64(1000)).Scan(&out); err != nil {
		tb.Fatal(err)
	}
	var doc []struct {
		Plan struct {
			Hit  int `json:"Shared Hit Blocks"`
			Read int `json:"Shared Read Blocks"`
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc) != 1 {
		tb.Fatalf("unexpected EXPLAIN output (%v): %s", err, out)
	}
	return doc[0].Plan.Hit + doc[0].Plan.Read
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// claimEnv is a database of its own with a backlog of finished steps.
type claimEnv struct {
	pool *pgxpool.Pool
	e    *engine.Engine
}

// asyncCommit turns synchronous_commit off for the env's connections, so a
// benchmark measures the queries rather than the disk's flush latency, which
// is the same whatever the backlog (and dominates on slow disks).
func newClaimEnv(tb testing.TB, finished int, asyncCommit bool) *claimEnv {
	tb.Helper()
	ctx := context.Background()
	pool, dbURL := taskertest.FreshDatabase(tb)
	if asyncCommit {
		cfg, err := pgxpool.ParseConfig(dbURL)
		if err != nil {
			tb.Fatal(err)
		}
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
		if pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(pool.Close) // runs before FreshDatabase drops the database
	}
	if _, err := store.Migrate(ctx, pool); err != nil {
		tb.Fatal(err)
	}
	e, err := engine.New(pool, engine.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	env := &claimEnv{pool: pool, e: e}
	wide := &tt.TemplateSpec{Namespace: planNamespace, Name: "wide", Version: "1.0.0"}
	for i := range planWideSteps {
		st := tt.StepSpec{Name: fmt.Sprintf("w%03d", i), Handler: "WideHandler"}
		if i > 0 {
			st.DependsOn = []string{"w000"}
		}
		wide.Steps = append(wide.Steps, st)
	}
	ready := &tt.TemplateSpec{Namespace: planNamespace, Name: "ready", Version: "1.0.0", IdentityStrategy: tt.IdentityAlwaysUnique}
	for i := range planReadySteps {
		ready.Steps = append(ready.Steps, tt.StepSpec{Name: fmt.Sprintf("r%02d", i), Handler: "ReadyHandler"})
	}
	for _, spec := range []*tt.TemplateSpec{wide, ready} {
		if _, err := e.RegisterTemplate(ctx, spec); err != nil {
			tb.Fatal(err)
		}
	}
	// The backlog: tasks whose every step finished. Initializing them goes
	// through the engine; finishing them is one UPDATE per table (the same
	// rows and transitions 20,000 completions would leave, minus the wait).
	var ids []int64
	for i := range (finished + planWideSteps - 1) / planWideSteps {
		res, err := e.InitializeTask(ctx, &tt.TaskRequest{Namespace: planNamespace, Name: "wide", Version: "1.0.0",
			Context: json.RawMessage(fmt.Sprintf(`{"backlog":%d}`, i))})
		if err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, res.TaskID)
	}
	if len(ids) > 0 {
		// Through in_progress, as the engine moves them: the transition
		// trigger refuses pending -> complete.
		tx, err := pool.Begin(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		for _, q := range []string{
			`SELECT set_config('tasker.transition_metadata', '{"event":"execution_requested"}', true), $1::bigint[]`,
			`UPDATE tasker_workflow_steps SET status = 'in_progress', attempts = 1, in_process = true, last_attempted_at = now()
			  WHERE task_id = ANY ($1)`,
			`UPDATE tasker_tasks SET status = 'in_progress' WHERE task_id = ANY ($1)`,
			`SELECT set_config('tasker.transition_metadata', '{"event":"completed"}', true), $1::bigint[]`,
			`UPDATE tasker_workflow_steps
			    SET status = 'complete', pending_parents = 0, in_process = false, processed = true, processed_at = now(),
			        results = '{"ok":true}', updated_at = now()
			  WHERE task_id = ANY ($1)`,
			`UPDATE tasker_tasks SET status = 'complete', complete = true, completed_at = now(), updated_at = now()
			  WHERE task_id = ANY ($1)`,
		} {
			if _, err := tx.Exec(ctx, q, ids); err != nil {
				tb.Fatal(err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return env
}

// addReadyTasks adds tasks of planReadySteps independent, ready steps.
func (env *claimEnv) addReadyTasks(tb testing.TB, tasks int) {
	tb.Helper()
	for range tasks {
		if _, err := env.e.InitializeTask(context.Background(), &tt.TaskRequest{Namespace: planNamespace, Name: "ready",
			Version: "1.0.0", Context: json.RawMessage(`{}`)}); err != nil {
			tb.Fatal(err)
		}
	}
}

// analyze gives the planner statistics of the data as it is now.
func (env *claimEnv) analyze(tb testing.TB) {
	tb.Helper()
	if _, err := env.pool.Exec(context.Background(), "VACUUM ANALYZE tasker_workflow_steps, tasker_tasks"); err != nil {
		tb.Fatal(err)
	}
}
