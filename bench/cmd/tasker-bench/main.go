// Command tasker-bench runs this engine (through core/dispatcher) and River
// v0.51.2 in the same run, on fresh databases of the server in DATABASE_URL,
// row by row interleaved (River, ours, River, ...), and prints one table with
// ratios, per-unit costs (round trips, transactions, WAL, server and client
// CPU) and a disturbed flag, plus the same as JSON.
//
//	cd bench && go run ./cmd/tasker-bench [-quick] [-json FILE] [-md FILE] [-only GROUPS]
//
// Groups: burn-down, chains, idle, dag, claim, rss, and the names of
// -external rows. docs/PERFORMANCE.md explains every column.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"
)

type options struct {
	quick    bool
	jsonPath string
	mdPath   string
	only     map[string]bool
	maxConns int32
	external externalFlags
	// sqlProfile times every statement client-side, by its SQL.
	sqlProfile bool
	// keep leaves the databases in place (for EXPLAIN after a run).
	keep bool
}

// sizes are the row sizes of a full or a -quick run.
type sizes struct {
	burnDown      int
	ceiling       int // River's W=2000 burn-down
	chains        int
	chainLen      int
	idleChains    int
	idleLen       int
	dags          int
	claimFinished int
	claimRounds   int
	rssMarks      []int64
}

var (
	fullSizes  = sizes{20000, 20000, 100, 20, 10, 50, 100, 1_000_000, 400, []int64{100_000, 1_000_000}}
	quickSizes = sizes{5000, 5000, 25, 20, 4, 50, 30, 200_000, 150, []int64{10_000, 100_000}}
)

// bench is one run.
type bench struct {
	opt       options
	size      sizes
	pid       int
	serverURL string
	prefix    string
	dbNames   map[string]bool // every database this run created
	oursURL   string
	admin     *pgx.Conn
	river     *riverSide
	ours      *oursSide
	oursC     *counter
	rows      []*Row
	started   time.Time
}

var groups = []string{"burn-down", "chains", "idle", "dag", "claim", "rss"}

func main() {
	var o options
	var only string
	var maxConns int
	rssWorkerMarks := flag.String("rss-worker", "", "internal: run as the RSS row's worker process with these step marks")
	flag.BoolVar(&o.quick, "quick", false, "run smaller rows (under two minutes)")
	flag.StringVar(&o.jsonPath, "json", "", "also write the rows as JSON to `FILE`")
	flag.StringVar(&o.mdPath, "md", "", "also write the table as Markdown to `FILE`")
	flag.StringVar(&only, "only", "", "run only these comma-separated `GROUPS` ("+strings.Join(groups, ", ")+", or an -external name)")
	flag.IntVar(&maxConns, "max-conns", 20, "pool size of each side")
	flag.BoolVar(&o.sqlProfile, "sql-profile", false, "time every statement client-side and list the 12 costliest per row (adds overhead)")
	flag.BoolVar(&o.keep, "keep", false, "do not drop the databases at the end (for inspecting them)")
	flag.Var(&o.external, "external", "add a row run by an external command, `NAME=COMMAND` (repeatable; see docs/PERFORMANCE.md)")
	flag.Parse()
	if *rssWorkerMarks != "" {
		if err := rssWorker(*rssWorkerMarks); err != nil {
			fmt.Fprintln(os.Stderr, "tasker-bench:", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "tasker-bench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	o.maxConns = int32(maxConns)
	if only != "" {
		o.only = map[string]bool{}
		for g := range strings.SplitSeq(only, ",") {
			g = strings.TrimSpace(g)
			if !slices.Contains(groups, g) && !slices.ContainsFunc(o.external, func(e externalSpec) bool { return e.name == g }) {
				fmt.Fprintf(os.Stderr, "tasker-bench: -only: unknown group %q (want %s or an -external name)\n", g, strings.Join(groups, ", "))
				os.Exit(2)
			}
			o.only[g] = true
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "tasker-bench:", err)
		os.Exit(1)
	}
}

func (b *bench) want(group string) bool { return b.opt.only == nil || b.opt.only[group] }

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "==> "+format+"\n", args...)
}

func run(ctx context.Context, o options) (err error) {
	b := &bench{opt: o, size: fullSizes, pid: os.Getpid(), dbNames: map[string]bool{}, started: time.Now()}
	if o.quick {
		b.size = quickSizes
	}
	b.serverURL = os.Getenv("DATABASE_URL")
	if b.serverURL == "" {
		b.serverURL = defaultServerURL
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	b.prefix = "tasker_bench_" + hex.EncodeToString(rnd[:])

	header := b.header(ctx)
	fmt.Print(header)

	// Databases: created now, dropped whatever happens.
	names := []string{b.prefix + "_river", b.prefix + "_ours"}
	if b.want("claim") {
		names = append(names, b.prefix+"_claim0", b.prefix+"_claim_full")
	}
	defer func() {
		if b.admin != nil {
			_ = b.admin.Close(context.Background())
		}
		if b.river != nil {
			b.river.pool.Close()
		}
		if b.ours != nil {
			b.ours.close()
		}
		if b.opt.keep {
			say("kept databases %s (-keep)", strings.Join(names, ", "))
			return
		}
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if derr := dropDatabases(dctx, b.serverURL, names); derr != nil {
			say("warning: %v", derr)
		} else {
			say("dropped databases %s", strings.Join(names, ", "))
		}
	}()
	for _, n := range names {
		if err := createDatabase(ctx, b.serverURL, n); err != nil {
			return err
		}
		b.dbNames[n] = true
	}
	say("created databases %s", strings.Join(names, ", "))
	riverURL, err := dbURL(b.serverURL, names[0])
	if err != nil {
		return err
	}
	if b.oursURL, err = dbURL(b.serverURL, names[1]); err != nil {
		return err
	}
	if b.admin, err = pgx.Connect(ctx, riverURL); err != nil {
		return err
	}
	if b.river, err = newRiverSide(ctx, b, riverURL); err != nil {
		return err
	}
	b.oursC = &counter{}
	if b.ours, err = newOursSide(ctx, b, b.oursURL, b.oursC); err != nil {
		return err
	}

	s := b.size
	steps := []struct {
		group string
		name  string
		fn    func() ([]*Row, error)
	}{
		{"burn-down", fmt.Sprintf("burn-down %s, River W=50", human(int64(s.burnDown))), one(func() (*Row, error) {
			return b.river.burnDown(ctx, "burn-down", fmt.Sprintf("burn-down %s", human(int64(s.burnDown))), s.burnDown, 50)
		})},
		{"burn-down", "burn-down, ours", one(func() (*Row, error) {
			return b.ours.burnDown(ctx, "burn-down", fmt.Sprintf("burn-down %s", human(int64(s.burnDown))), s.burnDown, 50)
		})},
		{"burn-down", "burn-down, River W=2000 (ceiling)", one(func() (*Row, error) {
			return b.river.burnDown(ctx, "burn-down", fmt.Sprintf("burn-down %s ceiling", human(int64(s.ceiling))), s.ceiling, 2000)
		})},
		{"chains", "chains, River", one(func() (*Row, error) {
			return b.river.chains(ctx, "chains", fmt.Sprintf("chains %dx%d", s.chains, s.chainLen), s.chains, s.chainLen, 50)
		})},
		{"chains", "chains, ours", one(func() (*Row, error) {
			return b.ours.chains(ctx, "chains", fmt.Sprintf("chains %dx%d", s.chains, s.chainLen), s.chains, s.chainLen, 50)
		})},
		{"idle", "idle handoff, River", one(func() (*Row, error) {
			return b.river.idleChains(ctx, "idle", fmt.Sprintf("idle handoff %dx%d", s.idleChains, s.idleLen), s.idleChains, s.idleLen, 50)
		})},
		{"idle", "idle handoff, ours", one(func() (*Row, error) {
			return b.ours.idleChains(ctx, "idle", fmt.Sprintf("idle handoff %dx%d", s.idleChains, s.idleLen), s.idleChains, s.idleLen, 50)
		})},
		{"dag", "DAG, River", one(func() (*Row, error) {
			return b.river.dags(ctx, "dag", fmt.Sprintf("DAG root->%d->join x%d", dagWidth, s.dags), s.dags, 50)
		})},
		{"dag", "DAG, ours", one(func() (*Row, error) {
			return b.ours.dags(ctx, "dag", fmt.Sprintf("DAG root->%d->join x%d", dagWidth, s.dags), s.dags, 50)
		})},
	}
	for _, e := range o.external {
		steps = append(steps, struct {
			group string
			name  string
			fn    func() ([]*Row, error)
		}{e.name, "external " + e.name, one(func() (*Row, error) {
			return b.runExternal(ctx, e.name, []string{"sh", "-c", e.command}, b.externalEnv(), 30*time.Minute)
		})})
	}
	steps = append(steps,
		struct {
			group string
			name  string
			fn    func() ([]*Row, error)
		}{"claim", "claim latency", func() ([]*Row, error) { return b.claim(ctx, names[2], names[3]) }},
		struct {
			group string
			name  string
			fn    func() ([]*Row, error)
		}{"rss", "worker RSS", one(func() (*Row, error) { return b.rssRow(ctx) })},
	)

	for _, st := range steps {
		if !b.want(st.group) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		say("%s", st.name)
		t0 := time.Now()
		rows, err := st.fn()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			say("  %s failed: %v", st.name, err)
			b.rows = append(b.rows, &Row{Group: st.group, Name: st.name, Error: err.Error()})
			continue
		}
		for _, r := range rows {
			say("  %s", r.brief())
		}
		say("  (%.1f s)", time.Since(t0).Seconds())
		b.rows = append(b.rows, rows...)
	}
	b.ratios()
	table := b.table()
	fmt.Println()
	fmt.Print(table)
	if o.jsonPath != "" {
		if err := b.writeJSON(header); err != nil {
			return err
		}
		say("wrote %s", o.jsonPath)
	}
	if o.mdPath != "" {
		if err := os.WriteFile(o.mdPath, []byte(b.markdown(header)), 0o644); err != nil {
			return err
		}
		say("wrote %s", o.mdPath)
	}
	for _, r := range b.rows {
		if r.Error != "" {
			return errors.New("some rows failed (see the table)")
		}
	}
	return ctx.Err()
}

func one(f func() (*Row, error)) func() ([]*Row, error) {
	return func() ([]*Row, error) {
		r, err := f()
		if err != nil {
			return nil, err
		}
		return []*Row{r}, nil
	}
}

// claim creates the two claim databases' engines and runs the claim rows.
func (b *bench) claim(ctx context.Context, emptyName, fullName string) ([]*Row, error) {
	var sides []*oursSide
	defer func() {
		for _, s := range sides {
			s.close()
		}
	}()
	for i, name := range []string{emptyName, fullName} {
		url, err := dbURL(b.serverURL, name)
		if err != nil {
			return nil, err
		}
		o, err := newOursSide(ctx, b, url, b.oursC)
		if err != nil {
			return nil, err
		}
		sides = append(sides, o)
		n := 0
		if i == 1 {
			n = b.size.claimFinished
			say("  inserting %s finished steps", human(int64(n)))
		}
		t0 := time.Now()
		if err := fillFinished(ctx, o, n); err != nil {
			return nil, err
		}
		if n > 0 {
			say("  (inserted and analyzed in %.1f s)", time.Since(t0).Seconds())
		}
	}
	return b.claimRows(ctx, sides[0], sides[1], b.size.claimRounds)
}

// header describes the run: the command that reproduces it and the machine.
func (b *bench) header(ctx context.Context) string {
	var sb strings.Builder
	args := []string{"go", "run", "./cmd/tasker-bench"}
	args = append(args, os.Args[1:]...)
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	fmt.Fprintf(&sb, "tasker-bench: this engine vs River v0.51.2, %s\n", b.started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&sb, "reproduce:   cd bench && DATABASE_URL=%s %s\n", shellQuote(redact(b.serverURL)), strings.Join(quoted, " "))
	if b.opt.quick {
		fmt.Fprintf(&sb, "             (make bench-quick runs the same after setup)\n")
	} else if b.opt.only == nil && len(b.opt.external) == 0 {
		fmt.Fprintf(&sb, "             (make bench runs the same after setup)\n")
	}
	fmt.Fprintf(&sb, "commit:      %s\n", gitDescribe())
	m := readMachineInfo()
	fmt.Fprintf(&sb, "machine:     %d cores, %s, %.0f GiB, Linux %s, %s\n", m.Cores, m.CPUModel, m.MemGiB, m.Kernel, m.GoVer)
	if conn, err := pgx.Connect(ctx, b.serverURL); err == nil {
		var ver, sc, sb2, fs string
		_ = conn.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('synchronous_commit'), current_setting('shared_buffers'), current_setting('fsync')").Scan(&ver, &sc, &sb2, &fs)
		_ = conn.Close(ctx)
		fmt.Fprintf(&sb, "postgres:    %s (synchronous_commit=%s, fsync=%s, shared_buffers=%s), same machine\n", ver, sc, fs, sb2)
	}
	fmt.Fprintf(&sb, "settings:    W=50 executors both sides unless noted, FetchCooldown 2 ms, FetchPollInterval 20 ms, pool of %d connections per side\n", b.opt.maxConns)
	return sb.String()
}

func gitDescribe() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	rev := strings.TrimSpace(string(out))
	// Dirty if the engine's or the bench's sources (tests aside) differ
	// from HEAD.
	root, _ := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	st, _ := exec.Command("git", "-C", strings.TrimSpace(string(root)), "status", "--porcelain", "--", "core", "bench", "go.mod", "go.sum").Output()
	var dirty []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(st)), "\n") {
		if f := strings.TrimSpace(line); f != "" && !strings.HasSuffix(f, "_test.go") {
			dirty = append(dirty, f[strings.LastIndexByte(f, ' ')+1:])
		}
	}
	if len(dirty) > 4 {
		dirty = append(dirty[:4], fmt.Sprintf("and %d more", len(dirty)-4))
	}
	if len(dirty) > 0 {
		rev += " + uncommitted changes to " + strings.Join(dirty, ", ")
	}
	return rev
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (b *bench) writeJSON(header string) error {
	doc := map[string]any{
		"header":     strings.Split(strings.TrimSpace(header), "\n"),
		"started_at": b.started.UTC().Format(time.RFC3339),
		"quick":      b.opt.quick,
		"machine":    readMachineInfo(),
		"sizes": map[string]any{
			"burn_down": b.size.burnDown, "ceiling": b.size.ceiling, "chains": b.size.chains, "chain_len": b.size.chainLen,
			"idle_chains": b.size.idleChains, "idle_len": b.size.idleLen, "dags": b.size.dags,
			"claim_finished": b.size.claimFinished, "claim_rounds": b.size.claimRounds, "rss_marks": b.size.rssMarks,
		},
		"disturbed_rule": fmt.Sprintf("other processes > %d%% of the machine, or steal > %d%%", otherLimitPct, stealLimitPct),
		"rows":           b.rows,
	}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if dir := filepath.Dir(b.opt.jsonPath); dir != "" {
		_ = os.MkdirAll(dir, 0o755)
	}
	return os.WriteFile(b.opt.jsonPath, append(raw, '\n'), 0o644)
}
