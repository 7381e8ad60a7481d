package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/tasker-systems/tasker-core-go/core/dispatcher"
	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Our side: an engine on its own database and traced pool, driven through
// core/dispatcher exactly as a worker process would: executor goroutines
// loop Next -> (no-op handler) -> Complete.

const benchNamespace = "bench"

var okResult = json.RawMessage(`{"ok":true}`)

type oursSide struct {
	b    *bench
	pool *pgxpool.Pool
	eng  *engine.Engine
	c    *counter
	seq  atomic.Int64 // worker ids
}

func newOursSide(ctx context.Context, b *bench, url string, c *counter) (*oursSide, error) {
	o := &oursSide{b: b, c: c}
	pool, err := openPool(ctx, url, b.opt.maxConns, c)
	if err != nil {
		return nil, err
	}
	o.pool = pool
	if o.eng, err = engine.New(pool, engine.Config{}); err != nil {
		return nil, err
	}
	if _, err := o.eng.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	for _, spec := range []*tt.TemplateSpec{noopTemplate(), chainTemplate(20), chainTemplate(50), dagTemplate(), wideTemplate(100), wideTemplate(5)} {
		if _, err := o.eng.RegisterTemplate(ctx, spec); err != nil {
			return nil, fmt.Errorf("register %s: %w", spec.Name, err)
		}
	}
	return o, nil
}

func (o *oursSide) close() { o.pool.Close() }

func handler(name string) string { return "Bench::" + name }

func noopTemplate() *tt.TemplateSpec {
	return &tt.TemplateSpec{Namespace: benchNamespace, Name: "noop", Version: "1.0.0",
		Steps: []tt.StepSpec{{Name: "work", Handler: handler("Noop")}}}
}

func chainStepName(i int) string { return fmt.Sprintf("s%02d", i) }

// chainTemplate is l steps in a line: s00 -> s01 -> ...
func chainTemplate(l int) *tt.TemplateSpec {
	spec := &tt.TemplateSpec{Namespace: benchNamespace, Name: "chain_" + strconv.Itoa(l), Version: "1.0.0"}
	for i := range l {
		st := tt.StepSpec{Name: chainStepName(i), Handler: handler("Chain")}
		if i > 0 {
			st.DependsOn = []string{chainStepName(i - 1)}
		}
		spec.Steps = append(spec.Steps, st)
	}
	return spec
}

// dagTemplate is root -> b1..b8 -> join.
func dagTemplate() *tt.TemplateSpec {
	spec := &tt.TemplateSpec{Namespace: benchNamespace, Name: "dag", Version: "1.0.0"}
	spec.Steps = append(spec.Steps, tt.StepSpec{Name: "root", Handler: handler("Root")})
	var branches []string
	for b := 1; b <= dagWidth; b++ {
		n := "b" + strconv.Itoa(b)
		branches = append(branches, n)
		spec.Steps = append(spec.Steps, tt.StepSpec{Name: n, Handler: handler("Branch"), DependsOn: []string{"root"}})
	}
	spec.Steps = append(spec.Steps, tt.StepSpec{Name: "join", Handler: handler("Join"), DependsOn: branches})
	return spec
}

// wideTemplate is n independent steps.
func wideTemplate(n int) *tt.TemplateSpec {
	spec := &tt.TemplateSpec{Namespace: benchNamespace, Name: "wide_" + strconv.Itoa(n), Version: "1.0.0"}
	for i := range n {
		spec.Steps = append(spec.Steps, tt.StepSpec{Name: fmt.Sprintf("w%03d", i), Handler: handler("Wide")})
	}
	return spec
}

// dagNode maps a DAG step name to its node number (see dagParents).
func dagNode(name string) int {
	switch name {
	case "root":
		return 0
	case "join":
		return dagWidth + 1
	}
	n, _ := strconv.Atoi(name[1:])
	return n
}

// initTasks initializes n tasks of template name with par concurrent
// callers and returns their ids in order.
func initTasks(ctx context.Context, eng *engine.Engine, name string, n, par int) ([]int64, error) {
	ids := make([]int64, n)
	var next atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	for range par {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				res, err := eng.InitializeTask(ctx, &tt.TaskRequest{Namespace: benchNamespace, Name: name,
					Context: json.RawMessage(`{}`), IdentityStrategy: tt.IdentityAlwaysUnique})
				if err != nil {
					return fmt.Errorf("initialize %s: %w", name, err)
				}
				ids[i] = res.TaskID
			}
		})
	}
	return ids, g.Wait()
}

// taskIndex maps task ids to their position in the row; it is read-only
// once built.
type taskIndex struct {
	m map[int64]int
}

func newTaskIndex(ids []int64) *taskIndex {
	t := &taskIndex{m: make(map[int64]int, len(ids))}
	for i, id := range ids {
		t.m[id] = i
	}
	return t
}

func (t *taskIndex) get(id int64) int {
	if i, ok := t.m[id]; ok {
		return i
	}
	return -1
}

// pool is a running dispatcher with its executor goroutines.
type pool struct {
	d      *dispatcher.Dispatcher
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
	// handed counts steps handed out; done counts durable completions.
	handed, done atomic.Int64
}

func (p *pool) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

func (p *pool) firstErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// start starts a dispatcher for the bench namespace and w executors. Each
// executor calls onStart when Next hands it a step (the handler is a no-op),
// then Complete, then onDurable once Complete returned.
func (o *oursSide) start(ctx context.Context, eng *engine.Engine, w int, onStart, onDurable func(*tt.ClaimedStep)) (*pool, error) {
	d, err := dispatcher.New(eng, dispatcher.Config{
		WorkerID:          fmt.Sprintf("tasker-bench-%d-%d", o.b.pid, o.seq.Add(1)),
		Namespaces:        []string{benchNamespace},
		FetchCooldown:     2 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		return nil, err
	}
	if err := d.Start(ctx); err != nil {
		return nil, fmt.Errorf("dispatcher start: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	p := &pool{d: d, cancel: cancel}
	for range w {
		p.wg.Go(func() {
			for {
				step, err := d.Next(runCtx)
				if err != nil {
					if !errors.Is(err, dispatcher.ErrStopped) {
						p.fail(fmt.Errorf("next: %w", err))
					}
					return
				}
				if step == nil {
					return
				}
				p.handed.Add(1)
				if onStart != nil {
					onStart(step)
				}
				_, err = d.Complete(runCtx, &tt.CompleteParams{StepID: step.WorkflowStepID, ClaimToken: step.ClaimToken, Results: okResult})
				if err != nil {
					if runCtx.Err() == nil {
						p.fail(fmt.Errorf("complete step %d: %w", step.WorkflowStepID, err))
					}
					return
				}
				p.done.Add(1)
				if onDurable != nil {
					onDurable(step)
				}
			}
		})
	}
	return p, nil
}

// stop ends the executors and stops the dispatcher; it returns the
// dispatcher's counters after Stop.
func (p *pool) stop() (dispatcher.Stats, error) {
	p.cancel()
	p.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := p.d.Stop(ctx)
	if e := p.firstErr(); e != nil {
		err = e
	}
	return p.d.Stats(), err
}

// waitDone waits until n steps are done or an executor failed.
func (p *pool) waitDone(ctx context.Context, n int64, stall time.Duration) error {
	last, lastAt := p.done.Load(), time.Now()
	for {
		d := p.done.Load()
		if d >= n {
			return nil
		}
		if err := p.firstErr(); err != nil {
			return err
		}
		if d != last {
			last, lastAt = d, time.Now()
		} else if time.Since(lastAt) > stall {
			return fmt.Errorf("stalled: %d of %d steps done, none for %s (%+v)", d, n, stall, p.d.Stats())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

func (o *oursSide) row(group, name string, w int) *Row {
	return &Row{Group: group, Name: name, Side: "ours", Workers: w, UnitName: "steps"}
}

// finish stops the pool and records its counters on r.
func finish(r *Row, p *pool) error {
	st, err := p.stop()
	r.extra("dispatcher", st)
	if st.Running != 0 || st.QueuedReports != 0 || st.Waiting != 0 {
		r.note("after Stop: running %d, queued reports %d, waiting %d", st.Running, st.QueuedReports, st.Waiting)
	}
	return err
}

// burnDown initializes n one-step tasks, then times a dispatcher with w
// executors until every step's Complete returned.
func (o *oursSide) burnDown(ctx context.Context, group, name string, n, w int) (*Row, error) {
	r := o.row(group, name, w)
	r.Units = int64(n)
	if _, err := initTasks(ctx, o.eng, "noop", n, 8); err != nil {
		return nil, err
	}
	ph := o.b.newPhase(o.c, o.pool)
	if err := ph.begin(ctx); err != nil {
		return nil, err
	}
	p, err := o.start(ctx, o.eng, w, nil, nil)
	if err != nil {
		return nil, err
	}
	if err := p.waitDone(ctx, r.Units, 30*time.Second); err != nil {
		_, _ = p.stop()
		return nil, err
	}
	if err := ph.end(ctx); err != nil {
		return nil, err
	}
	err = finish(r, p)
	ph.fill(r)
	return r, err
}

// chains runs n tasks of l chained steps at once on w executors.
func (o *oursSide) chains(ctx context.Context, group, name string, n, l, w int) (*Row, error) {
	r := o.row(group, name, w)
	r.Units = int64(n * l)
	ids, err := initTasks(ctx, o.eng, "chain_"+strconv.Itoa(l), n, 8)
	if err != nil {
		return nil, err
	}
	idx := newTaskIndex(ids)
	g := newGraph(n*l, chainParents(l))
	slot := func(s *tt.ClaimedStep) int {
		t := idx.get(s.TaskID)
		i, _ := strconv.Atoi(s.StepName[1:])
		if t < 0 {
			return -1
		}
		return t*l + i
	}
	err = o.runGraph(ctx, r, w, g, slot, func(ctx context.Context) error { return g.wait(ctx, r.Units, 30*time.Second) })
	return r, err
}

// idleChains runs n tasks of l chained steps one after another on w
// executors that are otherwise idle.
func (o *oursSide) idleChains(ctx context.Context, group, name string, n, l, w int) (*Row, error) {
	r := o.row(group, name, w)
	r.Units = int64(n * l)
	g := newGraph(n*l, chainParents(l))
	// The first step may be handed out before InitializeTask returns: the
	// chain's number travels in the task's context.
	slot := func(s *tt.ClaimedStep) int {
		var c struct {
			Chain *int `json:"chain"`
		}
		if json.Unmarshal(s.TaskContext, &c) != nil || c.Chain == nil {
			return -1
		}
		i, _ := strconv.Atoi(s.StepName[1:])
		return *c.Chain*l + i
	}
	err := o.runGraph(ctx, r, w, g, slot, func(ctx context.Context) error {
		for i := range n {
			time.Sleep(50 * time.Millisecond)
			_, err := o.eng.InitializeTask(ctx, &tt.TaskRequest{Namespace: benchNamespace, Name: "chain_" + strconv.Itoa(l),
				Context: json.RawMessage(fmt.Sprintf(`{"chain":%d}`, i)), IdentityStrategy: tt.IdentityAlwaysUnique})
			if err != nil {
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

// dags runs n tasks root -> 8 -> join at once on w executors.
func (o *oursSide) dags(ctx context.Context, group, name string, n, w int) (*Row, error) {
	r := o.row(group, name, w)
	r.Units = int64(n * dagNodes)
	ids, err := initTasks(ctx, o.eng, "dag", n, 8)
	if err != nil {
		return nil, err
	}
	idx := newTaskIndex(ids)
	g := newGraph(n*dagNodes, dagParents)
	slot := func(s *tt.ClaimedStep) int {
		t := idx.get(s.TaskID)
		if t < 0 {
			return -1
		}
		return t*dagNodes + dagNode(s.StepName)
	}
	err = o.runGraph(ctx, r, w, g, slot, func(ctx context.Context) error { return g.wait(ctx, r.Units, 30*time.Second) })
	r.extra("dags_per_s", float64(n)/math0(r.Seconds))
	return r, err
}

// runGraph runs a dispatcher whose executors stamp g, then feed, then stops.
func (o *oursSide) runGraph(ctx context.Context, r *Row, w int, g *graph, slot func(*tt.ClaimedStep) int, feed func(context.Context) error) error {
	ph := o.b.newPhase(o.c, o.pool)
	if err := ph.begin(ctx); err != nil {
		return err
	}
	var unknown atomic.Int64
	onStart := func(s *tt.ClaimedStep) {
		i := slot(s)
		if i < 0 {
			unknown.Add(1)
			return
		}
		g.markStart(i)
		g.markReport(i)
	}
	onDurable := func(s *tt.ClaimedStep) {
		if i := slot(s); i >= 0 {
			g.markDurable(i)
		}
	}
	p, err := o.start(ctx, o.eng, w, onStart, onDurable)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// An executor error ends the wait at once.
		for runCtx.Err() == nil {
			if p.firstErr() != nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	err = feed(runCtx)
	if e := p.firstErr(); e != nil {
		err = e
	}
	if err != nil {
		_, _ = p.stop()
		return err
	}
	if err := ph.end(ctx); err != nil {
		return err
	}
	err = finish(r, p)
	ph.fill(r)
	r.setHandoffs(g)
	if n := unknown.Load(); n > 0 {
		r.note("%d steps of tasks not in this row were run", n)
	}
	return err
}
