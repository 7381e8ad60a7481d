package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goccy/go-json"
	"golang.org/x/sync/errgroup"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// The RSS row runs in a child process (this binary with -rss-worker), so the
// River rows' memory is not in the figure: a fresh worker, an engine, a
// dispatcher with rssWorkers executors and a feeder that keeps about 5,000 steps
// ready, sampled when the completed steps pass each mark.

// rssWorkers is the RSS worker's executor count: the row measures memory,
// and more executors make bigger flushes, so its million steps take about
// half the time they take with 50.
const rssWorkers = 200

type rssMark struct {
	Steps      int64   `json:"steps"`
	Seconds    float64 `json:"seconds"`
	VmRSSBytes int64   `json:"vm_rss_bytes"`
	HeapAlloc  uint64  `json:"heap_alloc_bytes"`
	HeapSys    uint64  `json:"heap_sys_bytes"`
	Goroutines int     `json:"goroutines"`
}

// rssRow runs the child on our database and turns its result into a row.
func (b *bench) rssRow(ctx context.Context) (*Row, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	marks := make([]string, len(b.size.rssMarks))
	for i, m := range b.size.rssMarks {
		marks[i] = strconv.FormatInt(m, 10)
	}
	last := b.size.rssMarks[len(b.size.rssMarks)-1]
	timeout := time.Duration(last/200+120) * time.Second // at >= 200 steps/s
	r, err := b.runExternal(ctx, "rss", []string{exe, "-rss-worker", strings.Join(marks, ",")},
		[]string{"TASKER_BENCH_DATABASE_URL=" + b.oursURL, "TASKER_BENCH_MAX_CONNS=" + strconv.Itoa(int(b.opt.maxConns))}, timeout)
	if err != nil {
		return nil, err
	}
	var ms []rssMark
	if raw, err := json.Marshal(r.Extra["marks"]); err == nil {
		_ = json.Unmarshal(raw, &ms)
	}
	if len(ms) >= 2 {
		a, z := ms[len(ms)-2], ms[len(ms)-1]
		r.Ratio = ptr(float64(z.VmRSSBytes) / float64(a.VmRSSBytes))
		r.RatioWhat = fmt.Sprintf("VmRSS after %s / after %s steps", human(z.Steps), human(a.Steps))
		r.Target = "<= 1.10x"
		r.Met = ptr(*r.Ratio <= 1.10)
		r.note("VmRSS %.1f MiB after %s steps, %.1f MiB after %s: growth %+.1f%%", mib(a.VmRSSBytes), human(a.Steps),
			mib(z.VmRSSBytes), human(z.Steps), 100*(*r.Ratio-1))
	}
	return r, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// rssWorker is the child's main: it prints one externalResult line.
func rssWorker(marksArg string) error {
	var marks []int64
	for s := range strings.SplitSeq(marksArg, ",") {
		m, err := strconv.ParseInt(s, 10, 64)
		if err != nil || m <= 0 {
			return fmt.Errorf("-rss-worker: bad mark %q", s)
		}
		marks = append(marks, m)
	}
	url := os.Getenv("TASKER_BENCH_DATABASE_URL")
	maxConns, _ := strconv.Atoi(os.Getenv("TASKER_BENCH_MAX_CONNS"))
	if url == "" || maxConns <= 0 {
		return fmt.Errorf("-rss-worker: TASKER_BENCH_DATABASE_URL and TASKER_BENCH_MAX_CONNS are required")
	}
	ctx := context.Background()
	b := &bench{opt: options{maxConns: int32(maxConns)}, pid: os.Getpid()}
	c := &counter{}
	o, err := newOursSide(ctx, b, url, c)
	if err != nil {
		return err
	}
	defer o.close()
	const width = 100
	total := marks[len(marks)-1]
	tasks := (total + width - 1) / width

	runtime.GC()
	goroutines0 := runtime.NumGoroutine()
	rss0, _ := vmRSS()
	cnt0 := c.snapshot()
	start := time.Now()
	p, err := o.start(ctx, o.eng, rssWorkers, nil, nil)
	if err != nil {
		return err
	}
	feedCtx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	var initialized atomic.Int64
	feed, feedCtx := errgroup.WithContext(feedCtx)
	for range 4 {
		feed.Go(func() error {
			for feedCtx.Err() == nil {
				if initialized.Load()*width-p.done.Load() > 5000 {
					time.Sleep(2 * time.Millisecond)
					continue
				}
				n := initialized.Add(1)
				if n > tasks {
					return nil
				}
				if n == 50 {
					// Statistics for the planner once the tables have rows,
					// as autovacuum would soon give them.
					if _, err := o.pool.Exec(feedCtx, "ANALYZE"); err != nil {
						return err
					}
				}
				if _, err := o.eng.InitializeTask(feedCtx, &tt.TaskRequest{Namespace: benchNamespace, Name: "wide_" + strconv.Itoa(width),
					Context: json.RawMessage(`{}`), IdentityStrategy: tt.IdentityAlwaysUnique}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var out []rssMark
	for _, m := range marks {
		if err := p.waitDone(ctx, m, 60*time.Second); err != nil {
			_, _ = p.stop()
			return err
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss, _ := vmRSS()
		out = append(out, rssMark{Steps: p.done.Load(), Seconds: time.Since(start).Seconds(), VmRSSBytes: rss,
			HeapAlloc: ms.HeapAlloc, HeapSys: ms.HeapSys, Goroutines: runtime.NumGoroutine()})
		fmt.Fprintf(os.Stderr, "    rss worker: %s steps, VmRSS %.1f MiB, heap %.1f MiB\n", human(m), mib(rss), mib(int64(ms.HeapAlloc)))
	}
	elapsed := time.Since(start)
	stopFeed()
	if err := feed.Wait(); err != nil && feedCtx.Err() == nil {
		return err
	}
	st, stopErr := p.stop()
	cnt := c.snapshot().minus(cnt0)
	// Give stopped goroutines a moment to exit before counting them.
	time.Sleep(200 * time.Millisecond)
	runtime.GC()
	goroutines1 := runtime.NumGoroutine()
	res := externalResult{
		Side: "ours", Name: fmt.Sprintf("worker RSS %s -> %s steps", human(marks[0]), human(total)), Workers: rssWorkers,
		Units: p.done.Load(), UnitName: "steps", Seconds: elapsed.Seconds(), Counts: &cnt,
		Extra: map[string]any{
			"marks": out, "vm_rss_start_bytes": rss0, "goroutines_before_start": goroutines0,
			"goroutines_after_stop": goroutines1, "dispatcher": st,
		},
	}
	res.Notes = append(res.Notes, fmt.Sprintf("goroutines %d before Start, %d after Stop; after Stop running %d, waiting %d, queued reports %d",
		goroutines0, goroutines1, st.Running, st.Waiting, st.QueuedReports))
	if stopErr != nil {
		res.Notes = append(res.Notes, "stop: "+stopErr.Error())
	}
	line, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}

// human prints 100000 as 100k and 1000000 as 1M.
func human(n int64) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.FormatInt(n/1_000_000, 10) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.FormatInt(n/1000, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}
