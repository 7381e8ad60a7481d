// Command tasker-demo runs an order-fulfillment workflow end to end on a
// real PostgreSQL, with Go step handlers standing in for the Ruby ones until
// the gem exists:
//
//	validate_order ─┬─> reserve_inventory ─┬─> ship_order
//	                └─> process_payment ───┘
//
// It creates the database tasker_demo on the server of DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) if it is
// missing, migrates it, registers the template, initializes six orders and
// runs three concurrent workers that claim steps, run handlers and report
// results. One order's payment fails once with a retryable error and succeeds
// on its retry a second later. It prints live progress, then every task's DAG
// with each step's state, attempts and duration, and exits non-zero unless
// every task completed. Running it again starts a fresh run of six orders.
//
// Behind PgBouncer in transaction mode, point DATABASE_URL at PgBouncer and
// set TASKER_PGBOUNCER=1; TASKER_LISTEN_DATABASE_URL may name the server
// directly for LISTEN (its database is replaced by the demo's, as
// DATABASE_URL's is).
//
//	go run ./core/cmd/tasker-demo [-workers 3] [-timeout 30s] [-database tasker_demo]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

const (
	defaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	demoDatabase     = "tasker_demo"
	namespace        = "fulfillment"
	templateName     = "order_fulfillment"
	templateVersion  = "1.0.0"
	// flakyOrder's payment fails once with a retryable error.
	flakyOrder = "ORD-1003"
)

func main() {
	workers := flag.Int("workers", 3, "concurrent workers")
	timeout := flag.Duration("timeout", 30*time.Second, "give up after this long")
	database := flag.String("database", demoDatabase, "the database on DATABASE_URL's server to run in (created if missing)")
	flag.Parse()
	if *workers < 1 {
		fmt.Fprintln(os.Stderr, "tasker-demo: -workers must be at least 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code, err := run(ctx, *workers, *timeout, *database)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tasker-demo:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(ctx context.Context, workers int, timeout time.Duration, database string) (int, error) {
	serverURL := os.Getenv("DATABASE_URL")
	if serverURL == "" {
		serverURL = defaultServerURL
	}
	dbURL, created, err := ensureDatabase(ctx, serverURL, database)
	if err != nil {
		return 0, err
	}
	cfg := engine.Config{DefaultLease: 30 * time.Second, PoolSize: int32(workers) + 4}
	if cfg.PgBouncer, err = envBool("TASKER_PGBOUNCER"); err != nil {
		return 0, err
	}
	if listen := os.Getenv("TASKER_LISTEN_DATABASE_URL"); listen != "" {
		if cfg.ListenURL, err = withDatabase(listen, database); err != nil {
			return 0, fmt.Errorf("TASKER_LISTEN_DATABASE_URL is not a URL: %w", err)
		}
	}
	eng, err := engine.Open(ctx, dbURL, cfg)
	if err != nil {
		return 0, fmt.Errorf("connect to %s: %w", redact(dbURL), err)
	}
	defer eng.Close()
	mig, err := eng.Migrate(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate %s: %w", redact(dbURL), err)
	}
	tpl, err := eng.RegisterTemplate(ctx, orderTemplate())
	var conflict *tt.TemplateConflictError
	if errors.As(err, &conflict) {
		return 0, fmt.Errorf("%w\n(the database %s holds an older demo template; drop it with: psql -c 'DROP DATABASE %s')",
			err, database, database)
	}
	if err != nil {
		return 0, err
	}

	fmt.Println("tasker-core demo: order fulfillment")
	fmt.Printf("  database  %s (%s), %s\n", redact(dbURL), map[bool]string{true: "created", false: "exists"}[created], describeMigration(mig))
	if cfg.PgBouncer {
		fmt.Printf("  pooler    PgBouncer (transaction mode): no prepared statements; %s\n", map[bool]string{
			true:  "LISTEN on " + redact(cfg.ListenURL),
			false: "no LISTEN, workers poll"}[cfg.ListenURL != ""])
	}
	fmt.Printf("  template  %s/%s@%s, %d steps (%s)\n", tpl.Namespace, tpl.Name, tpl.Version, tpl.StepCount,
		map[bool]string{true: "registered", false: "already registered"}[tpl.Created])
	fmt.Println("            validate_order ─┬─> reserve_inventory ─┬─> ship_order")
	fmt.Println("                            └─> process_payment ───┘")

	runID := fmt.Sprintf("%s-%04x", time.Now().Format("20060102T150405"), rand.IntN(1<<16))
	orders := demoOrders()
	d := &demo{eng: eng, byTask: map[int64]*order{}, started: time.Now()}
	for _, o := range orders {
		raw, err := json.Marshal(o)
		if err != nil {
			return 0, err
		}
		res, err := eng.InitializeTask(ctx, &tt.TaskRequest{
			Namespace: namespace, Name: templateName, Version: templateVersion, Context: raw,
			Initiator: "tasker-demo", SourceSystem: "storefront", Reason: "order placed",
			Tags: []string{"demo", "tier:" + o.Customer.Tier}, IdempotencyKey: runID + "/" + o.OrderID,
		})
		if err != nil {
			return 0, fmt.Errorf("initialize %s: %w", o.OrderID, err)
		}
		o.taskID, o.steps = res.TaskID, res.StepCount
		d.byTask[res.TaskID] = o
		d.order = append(d.order, o)
		d.totalSteps += res.StepCount
	}
	first := d.order[0]
	fmt.Printf("  run       %s: %d orders (%s), %d workers; %s's payment will fail once\n",
		runID, len(orders), taskRange(d.order), workers, flakyOrder)
	raw, _ := json.Marshal(first)
	_, err = eng.InitializeTask(ctx, &tt.TaskRequest{Namespace: namespace, Name: templateName, Version: templateVersion,
		Context: raw, IdempotencyKey: runID + "/" + first.OrderID})
	var dup *tt.DuplicateTaskError
	switch {
	case errors.As(err, &dup):
		fmt.Printf("  identity  %s submitted again with the same idempotency key: duplicate of task %d, nothing created\n",
			first.OrderID, dup.ExistingTaskID)
	case err == nil:
		return 0, fmt.Errorf("a second submission of %s was not detected as a duplicate", first.OrderID)
	default:
		return 0, err
	}
	fmt.Println()

	// Workers run until every task of this run is finished.
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d.stop = cancel
	d.started = time.Now()
	// One dispatcher (this process is one worker) feeds the executors.
	d.disp, err = dispatcher.New(eng, dispatcher.Config{WorkerID: "demo-" + runID, Namespaces: []string{namespace}})
	if err != nil {
		return 0, err
	}
	if err := d.disp.Start(ctx); err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { d.worker(runCtx, fmt.Sprintf("demo-%s-w%d", runID, i+1)) })
	}
	d.watch(runCtx, cancel)
	wg.Wait()
	stopCtx, cancelStop := context.WithTimeout(context.Background(), 10*time.Second)
	if err := d.disp.Stop(stopCtx); err != nil {
		d.noteError("stopping the dispatcher: %v", err)
	}
	cancelStop()
	elapsed := time.Since(d.started)

	// Report from the database, not from what the workers saw.
	fmt.Println()
	statusCtx, cancelStatus := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelStatus()
	incomplete, err := d.render(statusCtx, os.Stdout)
	if err != nil {
		return 0, err
	}
	fmt.Println()
	switch {
	case incomplete == 0:
		fmt.Printf("all %d orders fulfilled in %.1f s: %d steps by %d workers, %d retried after a retryable error\n",
			len(d.order), elapsed.Seconds(), d.totalSteps, workers, d.retries.Load())
		return 0, nil
	case d.fatal != nil:
		fmt.Printf("stopped early, %d of %d tasks did not complete: %v\n", incomplete, len(d.order), d.fatal)
		fmt.Printf("(if the engine's schema changed since %s was created, drop it and run again: psql -c 'DROP DATABASE %s')\n",
			database, database)
	case ctx.Err() != nil:
		fmt.Printf("interrupted: %d of %d tasks did not complete\n", incomplete, len(d.order))
	case runCtx.Err() != nil:
		fmt.Printf("timed out after %s: %d of %d tasks did not complete\n", timeout, incomplete, len(d.order))
	default:
		fmt.Printf("%d of %d tasks did not complete\n", incomplete, len(d.order))
	}
	for _, e := range d.errorsSeen() {
		fmt.Println("  worker error:", e)
	}
	return 1, nil
}

// demo is one run: its orders, the workers' counters and the live state
// the progress line shows.
type demo struct {
	eng        *engine.Engine
	disp       *dispatcher.Dispatcher
	order      []*order
	byTask     map[int64]*order
	totalSteps int
	started    time.Time

	stepsDone atomic.Int64
	retries   atomic.Int64
	inFlight  atomic.Int64

	stop context.CancelFunc // ends the run early

	mu       sync.Mutex
	finished map[int64]tt.TaskState // tasks of this run that reached a final state
	errs     []string
	fatal    error // why the run was stopped early
}

func (d *demo) noteTask(taskID int64, status tt.TaskState) {
	if d.byTask[taskID] == nil {
		return // a leftover task of an interrupted earlier run
	}
	switch status {
	case tt.TaskComplete, tt.TaskError, tt.TaskCancelled, tt.TaskResolvedManually:
		d.mu.Lock()
		if d.finished == nil {
			d.finished = map[int64]tt.TaskState{}
		}
		d.finished[taskID] = status
		d.mu.Unlock()
	}
}

func (d *demo) noteError(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	d.mu.Lock()
	if len(d.errs) < 10 && !slices.Contains(d.errs, msg) {
		d.errs = append(d.errs, msg)
	}
	d.mu.Unlock()
}

// abort stops the run: a worker cannot claim at all.
func (d *demo) abort(err error) {
	d.mu.Lock()
	if d.fatal == nil {
		d.fatal = err
	}
	d.mu.Unlock()
	d.stop()
}

func (d *demo) errorsSeen() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.errs...)
}

func (d *demo) progress() (complete, finished int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.finished {
		finished++
		if s == tt.TaskComplete {
			complete++
		}
	}
	return complete, finished
}

// worker is one executor: it asks the dispatcher for the next step, runs
// its handler and reports the outcome, until ctx ends.
func (d *demo) worker(ctx context.Context, id string) {
	for ctx.Err() == nil {
		s, err := d.disp.Next(ctx)
		if err != nil || s == nil {
			return // quiet, or ctx ended
		}
		d.runStep(ctx, id, s)
	}
}

func (d *demo) runStep(ctx context.Context, worker string, s *tt.ClaimedStep) {
	d.inFlight.Add(1)
	defer d.inFlight.Add(-1)
	results, err := callHandler(ctx, s)
	if ctx.Err() != nil {
		return // shutting down: the lease expires and another run picks the step up
	}
	var res *tt.StepResult
	var reportErr error
	var retryable *RetryableError
	switch {
	case err == nil:
		raw, merr := json.Marshal(results)
		if merr != nil {
			err = &PermanentError{Message: "results are not JSON: " + merr.Error()}
			res, reportErr = d.fail(ctx, s, err)
			break
		}
		res, reportErr = d.disp.Complete(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: raw})
		if reportErr == nil && d.byTask[s.TaskID] != nil {
			d.stepsDone.Add(1)
		}
	case errors.As(err, &retryable):
		res, reportErr = d.fail(ctx, s, err)
		if reportErr == nil && res.Status == tt.StepWaitingForRetry && d.byTask[s.TaskID] != nil {
			d.retries.Add(1)
		}
	default:
		res, reportErr = d.fail(ctx, s, err)
	}
	if reportErr != nil {
		if ctx.Err() == nil {
			d.noteError("%s: report %s of task %d: %v", worker, s.StepName, s.TaskID, reportErr)
		}
		return
	}
	d.noteTask(s.TaskID, res.TaskStatus)
}

func (d *demo) fail(ctx context.Context, s *tt.ClaimedStep, err error) (*tt.StepResult, error) {
	p := &tt.FailParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken,
		Error: tt.StepFailure{Class: errorClass(err), Message: err.Error()}}
	var retryable *RetryableError
	if errors.As(err, &retryable) {
		if retryable.BackoffSeconds > 0 {
			b := retryable.BackoffSeconds
			p.BackoffSeconds = &b
		}
	} else {
		p.Permanent = true
	}
	return d.disp.Fail(ctx, p)
}

// watch shows progress until every task of the run is finished (then it
// stops the workers) or ctx ends.
func (d *demo) watch(ctx context.Context, stopWorkers context.CancelFunc) {
	tty := isTerminal(os.Stdout)
	every := 500 * time.Millisecond
	if tty {
		every = 100 * time.Millisecond
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		_, finished := d.progress()
		done := finished == len(d.order)
		line := d.progressLine()
		if tty {
			fmt.Printf("\r\033[K%s", line)
		} else if done || ctx.Err() != nil || time.Since(d.started) >= every {
			fmt.Println(line)
		}
		if done || ctx.Err() != nil {
			if tty {
				fmt.Println()
			}
			stopWorkers()
			return
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

func (d *demo) progressLine() string {
	complete, _ := d.progress()
	return fmt.Sprintf("[%5.1fs] tasks complete %d/%d | steps done %2d/%d | running %d | retries %d",
		time.Since(d.started).Seconds(), complete, len(d.order), d.stepsDone.Load(), d.totalSteps,
		d.inFlight.Load(), d.retries.Load())
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// ensureDatabase creates the database name on the server of serverURL if it
// does not exist and returns its URL.
func ensureDatabase(ctx context.Context, serverURL, name string) (dbURL string, created bool, err error) {
	dbURL, err = withDatabase(serverURL, name)
	if err != nil {
		return "", false, fmt.Errorf("DATABASE_URL is not a URL: %w", err)
	}
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", false, fmt.Errorf("connect to %s (set DATABASE_URL, or run `make setup`): %w", redact(serverURL), err)
	}
	defer conn.Close(ctx)
	var exists bool
	// The simple protocol leaves nothing on the connection, so this works
	// through PgBouncer whatever TASKER_PGBOUNCER says.
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
		pgx.QueryExecModeSimpleProtocol, name).Scan(&exists); err != nil {
		return "", false, err
	}
	if !exists {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr) && pgErr.Code == "42P04": // created concurrently
		case err != nil:
			return "", false, fmt.Errorf("create database %s: %w", name, err)
		default:
			created = true
		}
	}
	return dbURL, created, nil
}

// withDatabase returns serverURL with its database replaced by name.
func withDatabase(serverURL, name string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// envBool reads a yes/no environment variable: 1, true or yes; 0, false,
// no or unset.
func envBool(name string) (bool, error) {
	switch strings.ToLower(os.Getenv(name)) {
	case "1", "true", "yes":
		return true, nil
	case "", "0", "false", "no":
		return false, nil
	}
	return false, fmt.Errorf("%s must be 1, true or yes (or 0, false, no), got %q", name, os.Getenv(name))
}

func describeMigration(m *tt.MigrateResult) string {
	if len(m.Applied) == 0 {
		return fmt.Sprintf("schema version %d, up to date", m.CurrentVersion)
	}
	return fmt.Sprintf("schema version %d, %s applied", m.CurrentVersion, plural(len(m.Applied), "migration"))
}

func redact(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return "(unparseable URL)"
	}
	parsed.RawQuery = ""
	return parsed.Redacted()
}

// taskRange names the run's tasks: "tasks 8-13", or each id when another
// process created tasks in between.
func taskRange(orders []*order) string {
	ids := make([]string, len(orders))
	contiguous := true
	for i, o := range orders {
		ids[i] = strconv.FormatInt(o.taskID, 10)
		if i > 0 && o.taskID != orders[i-1].taskID+1 {
			contiguous = false
		}
	}
	if contiguous && len(ids) > 1 {
		return "tasks " + ids[0] + "-" + ids[len(ids)-1]
	}
	return "tasks " + strings.Join(ids, ", ")
}

// plural formats n with a noun, "1 attempt" or "2 attempts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func errorClass(err error) string {
	var r *RetryableError
	var p *PermanentError
	switch {
	case errors.As(err, &r):
		return r.Class
	case errors.As(err, &p):
		return "PermanentError"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", err), "*")
}
