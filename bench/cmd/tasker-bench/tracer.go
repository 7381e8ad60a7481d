package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// counter counts one side's traffic to PostgreSQL, client-side.
type counter struct {
	// roundTrips: a query, an exec, a batch or a COPY each count one.
	roundTrips atomic.Int64
	// statements: as roundTrips, but a batch counts each of its statements.
	statements atomic.Int64
	// xacts: round trips after which the connection was idle, not in a
	// transaction: each ended a transaction (an autocommit statement, COMMIT
	// or ROLLBACK).
	xacts atomic.Int64
	// prof, when set (-sql-profile), times every round trip by its SQL.
	prof atomic.Pointer[profile]
}

// profile sums client-side time per statement (time from send to the last
// row read, so it includes the server's work and the wire).
type profile struct {
	mu sync.Mutex
	m  map[string]*sqlStat
}

type sqlStat struct {
	SQL     string  `json:"sql"`
	Count   int64   `json:"count"`
	TotalMS float64 `json:"total_ms"`
	MeanMS  float64 `json:"mean_ms"`
}

func (p *profile) add(key string, d time.Duration) {
	p.mu.Lock()
	s := p.m[key]
	if s == nil {
		s = &sqlStat{SQL: key}
		p.m[key] = s
	}
	s.Count++
	s.TotalMS += float64(d) / float64(time.Millisecond)
	p.mu.Unlock()
}

// top returns the n statements that took the most time in total.
func (p *profile) top(n int) []sqlStat {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]sqlStat, 0, len(p.m))
	for _, s := range p.m {
		c := *s
		c.MeanMS = c.TotalMS / float64(c.Count)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b sqlStat) int {
		switch {
		case a.TotalMS > b.TotalMS:
			return -1
		case a.TotalMS < b.TotalMS:
			return 1
		}
		return strings.Compare(a.SQL, b.SQL)
	})
	return out[:min(n, len(out))]
}

func (s sqlStat) String() string {
	return fmt.Sprintf("%6d x %7.3f ms = %8.1f ms  %s", s.Count, s.MeanMS, s.TotalMS, s.SQL)
}

// sqlKey shortens a statement to its first words, comments dropped.
func sqlKey(sql string) string {
	var words []string
	n := 0
	for line := range strings.SplitSeq(sql, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		for _, w := range strings.Fields(line) {
			words = append(words, w)
			n += len(w) + 1
			if n > 90 {
				return strings.Join(words, " ") + " ..."
			}
		}
	}
	return strings.Join(words, " ")
}

type traceKey struct{}

type traceRec struct {
	start time.Time
	key   string
}

type counts struct {
	RoundTrips int64 `json:"round_trips"`
	Statements int64 `json:"statements"`
	Xacts      int64 `json:"transactions"`
}

func (c *counter) snapshot() counts {
	return counts{RoundTrips: c.roundTrips.Load(), Statements: c.statements.Load(), Xacts: c.xacts.Load()}
}

func (a counts) minus(b counts) counts {
	return counts{RoundTrips: a.RoundTrips - b.RoundTrips, Statements: a.Statements - b.Statements, Xacts: a.Xacts - b.Xacts}
}

// tracer is a pgx QueryTracer, BatchTracer and CopyFromTracer that feeds a
// counter. It is set on every pool either side uses.
type tracer struct{ c *counter }

var (
	_ pgx.QueryTracer    = tracer{}
	_ pgx.BatchTracer    = tracer{}
	_ pgx.CopyFromTracer = tracer{}
)

func (t tracer) ended(conn *pgx.Conn) {
	if conn != nil && conn.PgConn().TxStatus() == 'I' {
		t.c.xacts.Add(1)
	}
}

func (t tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	t.c.roundTrips.Add(1)
	t.c.statements.Add(1)
	if t.c.prof.Load() != nil {
		return context.WithValue(ctx, traceKey{}, &traceRec{start: time.Now(), key: sqlKey(data.SQL)})
	}
	return ctx
}

func (t tracer) record(ctx context.Context) {
	p := t.c.prof.Load()
	if rec, ok := ctx.Value(traceKey{}).(*traceRec); ok && p != nil {
		p.add(rec.key, time.Since(rec.start))
	}
}

func (t tracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, _ pgx.TraceQueryEndData) {
	t.ended(conn)
	t.record(ctx)
}

func (t tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	t.c.roundTrips.Add(1)
	if t.c.prof.Load() != nil && data.Batch != nil {
		var keys []string
		for _, q := range data.Batch.QueuedQueries {
			keys = append(keys, sqlKey(q.SQL))
		}
		return context.WithValue(ctx, traceKey{}, &traceRec{start: time.Now(), key: "batch[" + strings.Join(keys, "; ") + "]"})
	}
	return ctx
}

func (t tracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	t.c.statements.Add(1)
}

func (t tracer) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, _ pgx.TraceBatchEndData) {
	t.ended(conn)
	t.record(ctx)
}

func (t tracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	t.c.roundTrips.Add(1)
	t.c.statements.Add(1)
	if t.c.prof.Load() != nil {
		return context.WithValue(ctx, traceKey{}, &traceRec{start: time.Now(), key: "COPY " + data.TableName.Sanitize()})
	}
	return ctx
}

func (t tracer) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, _ pgx.TraceCopyFromEndData) {
	t.ended(conn)
	t.record(ctx)
}
