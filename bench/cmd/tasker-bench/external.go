package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"
)

// External rows run a command and read one JSON object, externalResult, from
// the last non-empty line of its stdout; its stderr passes through. The bench
// samples the machine and the server around the command (the command's own
// CPU counts as the client's: it is a reaped child). The Ruby worker rows
// plug in here:
//
//	tasker-bench -external 'ruby-burn-down=bundle exec ruby bench/ruby/burn_down.rb'
//
// The command gets, in its environment:
//
//	TASKER_BENCH_DATABASE_URL  our migrated database (namespace "bench", templates
//	                           noop, chain_20, chain_50, dag, wide_100, wide_5 registered)
//	TASKER_BENCH_NAMESPACE     bench
//	TASKER_BENCH_QUICK         1 under -quick, else 0
//	TASKER_BENCH_WORKERS       executors to run (50, as the Go rows)
//	TASKER_BENCH_UNITS         the Go burn-down's unit count
//	TASKER_BENCH_CHAINS        chains and steps per chain of the Go idle row, "10x50"
//
// and prints, for example:
//
//	{"side":"ruby","name":"burn-down 20k (Ruby worker)","compare_to":"burn-down",
//	 "workers":50,"units":20000,"unit":"steps","seconds":9.8,
//	 "handoff_p50_ms":null,"counts":{"round_trips":41000,"statements":41000,"transactions":20500}}
//
// compare_to names the group of the Go row it is compared with (burn-down,
// chains, idle); the ratio is its rate over that row's, or for idle its
// handoff p50 over that row's.
type externalResult struct {
	Side             string         `json:"side"`
	Name             string         `json:"name"`
	CompareTo        string         `json:"compare_to"`
	Workers          int            `json:"workers"`
	Units            int64          `json:"units"`
	UnitName         string         `json:"unit"`
	Seconds          float64        `json:"seconds"`
	HandoffP50MS     *float64       `json:"handoff_p50_ms"`
	HandoffP95MS     *float64       `json:"handoff_p95_ms"`
	ReportToRunP50MS *float64       `json:"report_to_run_p50_ms"`
	Counts           *counts        `json:"counts"`
	Extra            map[string]any `json:"extra"`
	Notes            []string       `json:"notes"`
}

// externalSpec is one -external flag: NAME=COMMAND.
type externalSpec struct {
	name, command string
}

type externalFlags []externalSpec

func (e *externalFlags) String() string {
	var s []string
	for _, x := range *e {
		s = append(s, x.name+"="+x.command)
	}
	return strings.Join(s, ", ")
}

func (e *externalFlags) Set(v string) error {
	name, cmd, ok := strings.Cut(v, "=")
	if !ok || name == "" || strings.TrimSpace(cmd) == "" {
		return fmt.Errorf("want NAME=COMMAND, got %q", v)
	}
	*e = append(*e, externalSpec{name: name, command: cmd})
	return nil
}

// runExternal runs argv with env added and returns its row. The command's
// seconds are its own; the machine figures cover the whole command.
func (b *bench) runExternal(ctx context.Context, group string, argv []string, env []string, timeout time.Duration) (*Row, error) {
	ph := b.newPhase(nil, nil)
	if err := ph.begin(ctx); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	var out bytes.Buffer
	cmd.Stdout = &out
	runErr := cmd.Run()
	if err := ph.end(ctx); err != nil {
		return nil, err
	}
	var res externalResult
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if runErr != nil {
		return nil, fmt.Errorf("%s: %w (last output line: %q)", strings.Join(argv, " "), runErr, last)
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		return nil, fmt.Errorf("%s: last stdout line is not the result JSON: %w (%q)", strings.Join(argv, " "), err, last)
	}
	r := &Row{Group: group, Name: res.Name, Side: res.Side, Workers: res.Workers, Units: res.Units, UnitName: res.UnitName,
		HandoffP50MS: res.HandoffP50MS, HandoffP95MS: res.HandoffP95MS, ReportToRunP50MS: res.ReportToRunP50MS,
		Extra: res.Extra, Notes: res.Notes}
	if r.Name == "" {
		r.Name = group
	}
	if r.UnitName == "" {
		r.UnitName = "steps"
	}
	if res.CompareTo != "" {
		r.extra("compare_to", res.CompareTo)
	}
	ph.fill(r)
	// The command's own clock, not the process lifetime, gives the rate.
	if res.Seconds > 0 {
		r.extra("command_seconds", r.Seconds)
		r.Seconds = res.Seconds
		r.Rate = float64(r.Units) / r.Seconds
	}
	if res.Counts != nil {
		u := float64(max(r.Units, 1))
		r.PerUnit.RoundTrips = float64(res.Counts.RoundTrips) / u
		r.PerUnit.Statements = float64(res.Counts.Statements) / u
		r.PerUnit.Xacts = float64(res.Counts.Xacts) / u
	} else {
		r.note("the command reported no counts: round trips unknown")
	}
	return r, nil
}

func (b *bench) externalEnv() []string {
	q := "0"
	if b.opt.quick {
		q = "1"
	}
	return []string{
		"TASKER_BENCH_DATABASE_URL=" + b.oursURL,
		"TASKER_BENCH_NAMESPACE=" + benchNamespace,
		"TASKER_BENCH_QUICK=" + q,
		"TASKER_BENCH_WORKERS=50",
		"TASKER_BENCH_UNITS=" + strconv.Itoa(b.size.burnDown),
		fmt.Sprintf("TASKER_BENCH_CHAINS=%dx%d", b.size.idleChains, b.size.idleLen),
	}
}
