package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Row is one line of the table and one object of the JSON.
type Row struct {
	// Group names the comparison a row belongs to (burn-down, chains, idle,
	// dag, claim, rss, or an external row's name); -only selects groups.
	Group    string  `json:"group"`
	Name     string  `json:"name"`
	Side     string  `json:"side"` // river, ours, or an external row's side
	Workers  int     `json:"workers,omitempty"`
	Units    int64   `json:"units"`
	UnitName string  `json:"unit"`
	Seconds  float64 `json:"seconds"`
	Rate     float64 `json:"units_per_s"`

	// Handoff: last parent's durable report to the child's handler start.
	HandoffP50MS *float64 `json:"handoff_p50_ms,omitempty"`
	HandoffP95MS *float64 `json:"handoff_p95_ms,omitempty"`
	// ReportToRunP50MS: last parent's report call (its handler returned) to
	// the child's handler start; includes the commit.
	ReportToRunP50MS *float64 `json:"report_to_run_p50_ms,omitempty"`

	// Ratio compares this row with RatioOf: ours/River for rates, and as
	// RatioWhat says otherwise.
	Ratio     *float64 `json:"ratio,omitempty"`
	RatioOf   string   `json:"ratio_of,omitempty"`
	RatioWhat string   `json:"ratio_what,omitempty"`
	Target    string   `json:"target,omitempty"`
	Met       *bool    `json:"met,omitempty"`

	PerUnit perUnit `json:"per_unit"`
	// Whole machine over the measured phase, in % of all cores.
	MachineCPUPct float64 `json:"machine_cpu_pct"`
	// CPU of processes other than this bench (and its children) and the
	// postgres processes serving the bench's databases, in % of all cores.
	OtherCPUPct  float64 `json:"other_cpu_pct"`
	StealPct     float64 `json:"steal_pct"`
	LoadAvg1     float64 `json:"loadavg1_before"`
	Disturbed    bool    `json:"disturbed"`
	DisturbedWhy string  `json:"disturbed_why,omitempty"`

	Extra map[string]any `json:"extra,omitempty"`
	Notes []string       `json:"notes,omitempty"`
	Error string         `json:"error,omitempty"`
}

// perUnit is the cost of one unit over the measured phase.
type perUnit struct {
	RoundTrips float64 `json:"round_trips"`
	Statements float64 `json:"statements"`
	Xacts      float64 `json:"transactions"`
	// WALBytes is cluster-wide: other databases' writes land here too.
	WALBytes float64 `json:"wal_bytes"`
	// PGCPUMicros: postgres processes serving the bench's databases plus the
	// server's background processes.
	PGCPUMicros float64 `json:"pg_cpu_us"`
	// ClientCPUMicros: this process (and children it reaped) during the row.
	ClientCPUMicros float64 `json:"client_cpu_us"`
}

func (r *Row) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *Row) extra(k string, v any) {
	if r.Extra == nil {
		r.Extra = map[string]any{}
	}
	r.Extra[k] = v
}

// setHandoffs fills the handoff columns from a graph.
func (r *Row) setHandoffs(g *graph) {
	d2s, r2s, early := g.handoffs()
	if len(d2s) == 0 {
		return
	}
	r.HandoffP50MS = ptr(percentile(d2s, 50))
	r.HandoffP95MS = ptr(percentile(d2s, 95))
	if len(r2s) > 0 {
		r.ReportToRunP50MS = ptr(percentile(r2s, 50))
		r.extra("report_to_run_p95_ms", percentile(r2s, 95))
	}
	r.extra("handoffs", len(d2s))
	if early > 0 {
		r.extra("handoffs_before_report_returned", early)
		r.note("%d of %d children started before their parent's report call returned (counted as 0 ms)", early, len(d2s))
	}
}

// Disturbance rule: a row is disturbed when processes other than the bench
// and its postgres used more than otherLimitPct of the machine during it, or
// the hypervisor stole more than stealLimitPct.
const (
	otherLimitPct = 20
	stealLimitPct = 5
)

// phase samples the machine, the server and the client counters around the
// measured part of a row.
type phase struct {
	b *bench
	c *counter
	// analyze, when set, is ANALYZEd before the first sample: the rows
	// insert their work up front, and the planner must not see the tables
	// as they were before (autovacuum would have analyzed them by then in a
	// running system; River's tables are analyzed the same way).
	analyze *pgxpool.Pool
	t0      time.Time
	cpu0    cpuTimes
	self0   int64
	pg0     map[string]pgProc
	wal0    string
	cnt0    counts
	load    float64
	done    bool
	result  sample
}

type sample struct {
	elapsed  time.Duration
	cnt      counts
	walBytes int64
	pgTicks  int64
	self     int64
	cpu      cpuTimes
	other    int64
	profile  []sqlStat
	wal1     string
}

func (b *bench) newPhase(c *counter, analyze *pgxpool.Pool) *phase {
	return &phase{b: b, c: c, analyze: analyze}
}

// begin takes the first sample; the measured part starts when it returns.
func (p *phase) begin(ctx context.Context) error {
	if p.analyze != nil {
		if _, err := p.analyze.Exec(ctx, "ANALYZE"); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	p.load = loadAvg1()
	var err error
	if p.wal0, err = p.b.walLSN(ctx); err != nil {
		return err
	}
	if p.pg0, err = readPostgres(p.b.dbNames); err != nil {
		return err
	}
	if p.self0, err = selfTicks(); err != nil {
		return err
	}
	if p.cpu0, err = readCPUTimes(); err != nil {
		return err
	}
	if p.c != nil {
		p.cnt0 = p.c.snapshot()
		if p.b.opt.sqlProfile {
			p.c.prof.Store(&profile{m: map[string]*sqlStat{}})
		}
	}
	p.t0 = time.Now()
	return nil
}

// end takes the second sample; call it as soon as the measured part is over.
func (p *phase) end(ctx context.Context) error {
	if p.done {
		return nil
	}
	p.done = true
	s := &p.result
	s.elapsed = time.Since(p.t0)
	if p.c != nil {
		s.cnt = p.c.snapshot().minus(p.cnt0)
		if prof := p.c.prof.Swap(nil); prof != nil {
			s.profile = prof.top(12)
		}
	}
	cpu1, err := readCPUTimes()
	if err != nil {
		return err
	}
	self1, err := selfTicks()
	if err != nil {
		return err
	}
	pg1, err := readPostgres(p.b.dbNames)
	if err != nil {
		return err
	}
	wal1, err := p.b.walLSN(ctx)
	if err != nil {
		return err
	}
	s.wal1 = wal1
	s.cpu = cpuTimes{busy: cpu1.busy - p.cpu0.busy, idle: cpu1.idle - p.cpu0.idle,
		steal: cpu1.steal - p.cpu0.steal, total: cpu1.total - p.cpu0.total}
	s.self = self1 - p.self0
	var foreign int64
	for pid, after := range pg1 {
		d := after.ticks - p.pg0[pid].ticks // a new process counts whole
		if after.db == "?" {
			foreign += d
		} else {
			s.pgTicks += d
		}
	}
	s.other = s.cpu.busy - s.self - s.pgTicks
	if err := p.b.admin.QueryRow(ctx, "SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint", wal1, p.wal0).Scan(&s.walBytes); err != nil {
		return err
	}
	_ = foreign // part of s.other
	return nil
}

// fill writes the measured figures into r, per r.Units.
func (p *phase) fill(r *Row) {
	s := p.result
	r.Seconds = s.elapsed.Seconds()
	if r.Seconds > 0 {
		r.Rate = float64(r.Units) / r.Seconds
	}
	u := float64(max(r.Units, 1))
	r.PerUnit = perUnit{
		RoundTrips:      float64(s.cnt.RoundTrips) / u,
		Statements:      float64(s.cnt.Statements) / u,
		Xacts:           float64(s.cnt.Xacts) / u,
		WALBytes:        float64(s.walBytes) / u,
		PGCPUMicros:     float64(s.pgTicks) * 1e6 / clockTicks / u,
		ClientCPUMicros: float64(s.self) * 1e6 / clockTicks / u,
	}
	if s.cpu.total > 0 {
		t := float64(s.cpu.total)
		r.MachineCPUPct = 100 * float64(s.cpu.busy) / t
		r.OtherCPUPct = math.Max(0, 100*float64(s.other)/t)
		r.StealPct = 100 * float64(s.cpu.steal) / t
	}
	r.LoadAvg1 = p.load
	r.extra("wal_lsn_range", []string{p.wal0, s.wal1})
	if len(s.profile) > 0 {
		r.extra("sql_profile", s.profile)
		for _, st := range s.profile {
			r.note("sql %s", st)
		}
	}
	var why []string
	if r.OtherCPUPct > otherLimitPct {
		why = append(why, fmt.Sprintf("other processes used %.0f%% of the machine (> %d%%)", r.OtherCPUPct, otherLimitPct))
	}
	if r.StealPct > stealLimitPct {
		why = append(why, fmt.Sprintf("steal %.0f%% (> %d%%)", r.StealPct, stealLimitPct))
	}
	if s.elapsed < 2*time.Second {
		// Ticks are 10 ms: a short row's CPU split is coarse, say so.
		r.note("measured phase under 2 s: CPU figures are coarse (10 ms ticks)")
	}
	r.Disturbed = len(why) > 0
	r.DisturbedWhy = strings.Join(why, "; ")
}

// walLSN returns the server's current WAL insert position.
func (b *bench) walLSN(ctx context.Context) (string, error) {
	var lsn string
	err := b.admin.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn)
	return lsn, err
}
