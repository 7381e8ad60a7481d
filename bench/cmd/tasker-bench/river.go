package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// River's side: one database, one traced pool, and a client per row (the
// worker count differs between rows). Jobs are no-ops; a chain job inserts its
// successor and completes itself in one transaction (InsertTx +
// JobCompleteTx), River's idiom for a transactional handoff; a DAG's branch
// decrements a counter row in that transaction and the branch that takes it
// to zero inserts the join.

type noopArgs struct{}

func (noopArgs) Kind() string { return "bench_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

type chainArgs struct {
	Chain int `json:"chain"`
	Index int `json:"index"`
	Len   int `json:"len"`
}

func (chainArgs) Kind() string { return "bench_chain" }

type chainWorker struct {
	river.WorkerDefaults[chainArgs]
	s *riverSide
}

func (w *chainWorker) Work(ctx context.Context, job *river.Job[chainArgs]) error {
	a, g := job.Args, w.s.graph.Load()
	slot := a.Chain*a.Len + a.Index
	g.markStart(slot)
	g.markReport(slot) // the handler is a no-op: it returns at once
	tx, err := w.s.pool.Begin(ctx)
	if err != nil {
		return w.s.fail(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if a.Index+1 < a.Len {
		next := chainArgs{Chain: a.Chain, Index: a.Index + 1, Len: a.Len}
		if _, err := river.ClientFromContext[pgx.Tx](ctx).InsertTx(ctx, tx, next, nil); err != nil {
			return w.s.fail(err)
		}
	}
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return w.s.fail(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return w.s.fail(err)
	}
	g.markDurable(slot)
	return nil
}

type dagArgs struct {
	DAG  int `json:"dag"`
	Node int `json:"node"` // 0 root, 1..dagWidth branches, dagWidth+1 join
}

func (dagArgs) Kind() string { return "bench_dag" }

type dagWorker struct {
	river.WorkerDefaults[dagArgs]
	s *riverSide
}

func (w *dagWorker) Work(ctx context.Context, job *river.Job[dagArgs]) error {
	a, g := job.Args, w.s.graph.Load()
	slot := a.DAG*dagNodes + a.Node
	g.markStart(slot)
	g.markReport(slot)
	tx, err := w.s.pool.Begin(ctx)
	if err != nil {
		return w.s.fail(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	client := river.ClientFromContext[pgx.Tx](ctx)
	switch {
	case a.Node == 0:
		if _, err := tx.Exec(ctx, "INSERT INTO bench_dag (id, remaining) VALUES ($1, $2)", a.DAG, dagWidth); err != nil {
			return w.s.fail(err)
		}
		branches := make([]river.InsertManyParams, dagWidth)
		for b := range branches {
			branches[b] = river.InsertManyParams{Args: dagArgs{DAG: a.DAG, Node: b + 1}}
		}
		if _, err := client.InsertManyTx(ctx, tx, branches); err != nil {
			return w.s.fail(err)
		}
	case a.Node <= dagWidth:
		// The row lock serializes the branches of one DAG: exactly one sees 0.
		var remaining int
		if err := tx.QueryRow(ctx, "UPDATE bench_dag SET remaining = remaining - 1 WHERE id = $1 RETURNING remaining", a.DAG).Scan(&remaining); err != nil {
			return w.s.fail(err)
		}
		if remaining == 0 {
			if _, err := client.InsertTx(ctx, tx, dagArgs{DAG: a.DAG, Node: dagWidth + 1}, nil); err != nil {
				return w.s.fail(err)
			}
		}
	}
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return w.s.fail(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return w.s.fail(err)
	}
	g.markDurable(slot)
	return nil
}

type riverSide struct {
	b     *bench
	pool  *pgxpool.Pool
	c     *counter
	graph atomic.Pointer[graph]

	mu     sync.Mutex
	errSet error
}

func (s *riverSide) fail(err error) error {
	s.mu.Lock()
	if s.errSet == nil {
		s.errSet = err
	}
	s.mu.Unlock()
	return err
}

func (s *riverSide) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errSet
}

func newRiverSide(ctx context.Context, b *bench, url string) (*riverSide, error) {
	s := &riverSide{b: b, c: &counter{}}
	pool, err := openPool(ctx, url, b.opt.maxConns, s.c)
	if err != nil {
		return nil, err
	}
	s.pool = pool
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return nil, err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("river migrate: %w", err)
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE bench_dag (id int PRIMARY KEY, remaining int NOT NULL)"); err != nil {
		return nil, err
	}
	s.graph.Store(newGraph(0, chainParents(1)))
	return s, nil
}

// client returns a client with maxWorkers executors on the default queue,
// with the fetch settings.
func (s *riverSide) client(maxWorkers int) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, noopWorker{})
	river.AddWorker(workers, &chainWorker{s: s})
	river.AddWorker(workers, &dagWorker{s: s})
	return river.NewClient(riverpgxv5.New(s.pool), &river.Config{
		FetchCooldown:     2 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		Logger:            slog.New(slog.DiscardHandler),
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		Workers:           workers,
	})
}

// reset empties the job table between rows, as River's own benchmark
// starts from an empty table.
func (s *riverSide) reset(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, "TRUNCATE river_job, bench_dag")
	if err == nil {
		_, err = s.pool.Exec(ctx, "VACUUM ANALYZE river_job")
	}
	s.mu.Lock()
	s.errSet = nil
	s.mu.Unlock()
	return err
}

func (s *riverSide) row(group, name string, workers int) *Row {
	return &Row{Group: group, Name: name, Side: "river", Workers: workers, UnitName: "jobs"}
}

// stopClient stops a client, bounded.
func stopClient(c *river.Client[pgx.Tx]) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Stop(ctx)
}

// burnDown inserts n no-op jobs with InsertMany, then starts a client of w
// workers and times it until every job's completion is recorded.
func (s *riverSide) burnDown(ctx context.Context, group, name string, n, w int) (*Row, error) {
	r := s.row(group, name, w)
	r.Units = int64(n)
	if err := s.reset(ctx); err != nil {
		return nil, err
	}
	client, err := s.client(w)
	if err != nil {
		return nil, err
	}
	events, cancelSub := client.SubscribeConfig(&river.SubscribeConfig{
		Kinds:    []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed},
		ChanSize: n + 1000,
	})
	defer cancelSub()
	for i := 0; i < n; i += 1000 {
		batch := make([]river.InsertManyParams, min(1000, n-i))
		for j := range batch {
			batch[j] = river.InsertManyParams{Args: noopArgs{}}
		}
		if _, err := client.InsertMany(ctx, batch); err != nil {
			return nil, fmt.Errorf("insert jobs: %w", err)
		}
	}
	ph := s.b.newPhase(s.c, s.pool)
	if err := ph.begin(ctx); err != nil {
		return nil, err
	}
	if err := client.Start(ctx); err != nil {
		return nil, err
	}
	done := 0
	stall := time.NewTimer(30 * time.Second)
	defer stall.Stop()
	for done < n {
		select {
		case ev, ok := <-events:
			if !ok {
				return nil, errors.New("subscription closed")
			}
			if ev.Kind != river.EventKindJobCompleted {
				_ = stopClient(client)
				return nil, fmt.Errorf("job %d failed: %v", ev.Job.ID, ev.Job.Errors)
			}
			done++
			if done%1000 == 0 {
				stall.Reset(30 * time.Second)
			}
		case <-stall.C:
			_ = stopClient(client)
			return nil, fmt.Errorf("stalled at %d of %d jobs", done, n)
		case <-ctx.Done():
			_ = stopClient(client)
			return nil, ctx.Err()
		}
	}
	if err := ph.end(ctx); err != nil {
		return nil, err
	}
	if err := stopClient(client); err != nil {
		r.note("client stop: %v", err)
	}
	ph.fill(r)
	return r, nil
}

// runGraph starts a client of w workers with g as the current graph, runs
// feed (which inserts the first jobs), and waits until want units are done.
func (s *riverSide) runGraph(ctx context.Context, r *Row, w int, g *graph, insertFirst func(*river.Client[pgx.Tx]) error,
	feed func(context.Context, *river.Client[pgx.Tx]) error) error {
	if err := s.reset(ctx); err != nil {
		return err
	}
	s.graph.Store(g)
	client, err := s.client(w)
	if err != nil {
		return err
	}
	events, cancelSub := client.SubscribeConfig(&river.SubscribeConfig{
		Kinds: []river.EventKind{river.EventKindJobFailed}, ChanSize: 100,
	})
	defer cancelSub()
	if insertFirst != nil {
		if err := insertFirst(client); err != nil {
			return err
		}
	}
	ph := s.b.newPhase(s.c, s.pool)
	if err := ph.begin(ctx); err != nil {
		return err
	}
	if err := client.Start(ctx); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case ev, ok := <-events:
			if !ok || ev == nil {
				return
			}
			_ = s.fail(fmt.Errorf("job %d (%s) failed: %v", ev.Job.ID, ev.Job.Kind, ev.Job.Errors))
			cancel()
		case <-runCtx.Done():
		}
	}()
	err = feed(runCtx, client)
	if e := s.err(); e != nil {
		err = e
	}
	if err != nil {
		_ = stopClient(client)
		return err
	}
	if err := ph.end(ctx); err != nil {
		return err
	}
	if err := stopClient(client); err != nil {
		r.note("client stop: %v", err)
	}
	ph.fill(r)
	r.setHandoffs(g)
	return nil
}

// chains runs n chains of length l at once on w workers.
func (s *riverSide) chains(ctx context.Context, group, name string, n, l, w int) (*Row, error) {
	r := s.row(group, name, w)
	r.Units = int64(n * l)
	g := newGraph(n*l, chainParents(l))
	first := func(c *river.Client[pgx.Tx]) error {
		ps := make([]river.InsertManyParams, n)
		for i := range ps {
			ps[i] = river.InsertManyParams{Args: chainArgs{Chain: i, Index: 0, Len: l}}
		}
		_, err := c.InsertMany(ctx, ps)
		return err
	}
	err := s.runGraph(ctx, r, w, g, first, func(ctx context.Context, _ *river.Client[pgx.Tx]) error {
		return g.wait(ctx, r.Units, 30*time.Second)
	})
	return r, err
}

// idleChains runs n chains of length l one after another on w workers that
// are otherwise idle.
func (s *riverSide) idleChains(ctx context.Context, group, name string, n, l, w int) (*Row, error) {
	r := s.row(group, name, w)
	r.Units = int64(n * l)
	g := newGraph(n*l, chainParents(l))
	err := s.runGraph(ctx, r, w, g, nil, func(ctx context.Context, c *river.Client[pgx.Tx]) error {
		for i := range n {
			// Let the workers go idle (and the fetch loop back to polling).
			time.Sleep(50 * time.Millisecond)
			if _, err := c.Insert(ctx, chainArgs{Chain: i, Index: 0, Len: l}, nil); err != nil {
				return err
			}
			if err := g.wait(ctx, int64((i+1)*l), 30*time.Second); err != nil {
				return err
			}
		}
		return nil
	})
	r.note("includes %d x 50 ms idle pauses between chains", n)
	return r, err
}

// dags runs n DAGs root -> dagWidth -> join at once on w workers.
func (s *riverSide) dags(ctx context.Context, group, name string, n, w int) (*Row, error) {
	r := s.row(group, name, w)
	r.Units = int64(n * dagNodes)
	g := newGraph(n*dagNodes, dagParents)
	first := func(c *river.Client[pgx.Tx]) error {
		ps := make([]river.InsertManyParams, n)
		for i := range ps {
			ps[i] = river.InsertManyParams{Args: dagArgs{DAG: i}}
		}
		_, err := c.InsertMany(ctx, ps)
		return err
	}
	err := s.runGraph(ctx, r, w, g, first, func(ctx context.Context, _ *river.Client[pgx.Tx]) error {
		return g.wait(ctx, r.Units, 30*time.Second)
	})
	r.extra("dags_per_s", float64(n)/math0(r.Seconds))
	return r, err
}

func math0(v float64) float64 {
	if v == 0 {
		return 1
	}
	return v
}
