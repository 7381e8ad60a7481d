package main

import (
	"context"
	"fmt"
	"time"

	"github.com/goccy/go-json"

	"github.com/tasker-systems/tasker-core-go/core/engine"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// The claim rows: two databases of ours, one whose steps table holds only
// what the row itself creates and one that also holds claimFinished finished
// steps (one INSERT ... SELECT generate_series with triggers off, then
// ANALYZE). Each round initializes a task of claimBatch independent steps and
// times engine.DispatchClaim for them, the call the dispatcher's producer
// makes (same parameters), then records their completions with
// engine.ReportBatch, the completer's call. Rounds alternate between the
// databases so noise hits both alike.

const claimBatch = 5

// fillFinished inserts n finished steps into a task of its own on o's
// database and analyzes the table.
func fillFinished(ctx context.Context, o *oursSide, n int) error {
	res, err := o.eng.InitializeTask(ctx, &tt.TaskRequest{Namespace: benchNamespace, Name: "noop",
		Context: json.RawMessage(`{}`), IdentityStrategy: tt.IdentityAlwaysUnique})
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	tx, err := o.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// Triggers off for this one statement: a million step transitions would
	// take minutes and are not what the claim reads.
	if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO tasker_workflow_steps
		    (task_id, named_step_id, task_namespace_id, status, attempts, processed, processed_at,
		     last_attempted_at, results, pending_parents)
		SELECT s.task_id, s.named_step_id, s.task_namespace_id, 'complete', 1, true, now(), now(),
		       '{"ok":true}', 0
		  FROM (SELECT task_id, named_step_id, task_namespace_id FROM tasker_workflow_steps
		         WHERE task_id = $1 LIMIT 1) s,
		       generate_series(1, $2)`, res.TaskID, n); err != nil {
		return fmt.Errorf("insert %d finished steps: %w", n, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	_, err = o.pool.Exec(ctx, "ANALYZE tasker_workflow_steps")
	return err
}

// claimRows measures claim latency on empty and full.
func (b *bench) claimRows(ctx context.Context, empty, full *oursSide, rounds int) ([]*Row, error) {
	sides := []*oursSide{empty, full}
	lat := make([][]time.Duration, len(sides))
	claimParams := func(limit int) *engine.DispatchClaimParams {
		return &engine.DispatchClaimParams{Namespaces: []string{benchNamespace}, Limit: limit,
			WorkerID: fmt.Sprintf("tasker-bench-%d-claim", b.pid), Lease: 30 * time.Second}
	}
	complete := func(o *oursSide, steps []tt.ClaimedStep) error {
		reports := make([]engine.Report, len(steps))
		for i, s := range steps {
			reports[i] = engine.Report{Kind: engine.ReportComplete, StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: okResult}
		}
		res, err := o.eng.ReportBatch(ctx, reports, nil)
		if err != nil {
			return err
		}
		for _, out := range res.Outcomes {
			if out.Err != nil {
				return out.Err
			}
		}
		return nil
	}
	// The task fillFinished made has one ready step: run it first.
	for _, o := range sides {
		steps, err := o.eng.DispatchClaim(ctx, claimParams(10))
		if err != nil {
			return nil, err
		}
		if err := complete(o, steps); err != nil {
			return nil, err
		}
	}
	ph := b.newPhase(empty.c, nil)
	if err := ph.begin(ctx); err != nil {
		return nil, err
	}
	const warmup = 5
	for round := range rounds + warmup {
		for i, o := range sides {
			if _, err := o.eng.InitializeTask(ctx, &tt.TaskRequest{Namespace: benchNamespace, Name: "wide_5",
				Context: json.RawMessage(`{}`), IdentityStrategy: tt.IdentityAlwaysUnique}); err != nil {
				return nil, err
			}
			t0 := time.Now()
			steps, err := o.eng.DispatchClaim(ctx, claimParams(claimBatch))
			dt := time.Since(t0)
			if err != nil {
				return nil, err
			}
			if len(steps) != claimBatch {
				return nil, fmt.Errorf("claim returned %d steps, want %d", len(steps), claimBatch)
			}
			if round >= warmup {
				lat[i] = append(lat[i], dt)
			}
			if err := complete(o, steps); err != nil {
				return nil, err
			}
		}
	}
	if err := ph.end(ctx); err != nil {
		return nil, err
	}
	var rows []*Row
	for i := range sides {
		name := "claim 5 ready, 0 finished"
		if i == 1 {
			name = fmt.Sprintf("claim 5 ready, %s finished", human(int64(b.size.claimFinished)))
		}
		r := &Row{Group: "claim", Name: name, Side: "ours", UnitName: "claims"}
		// The phase covers both databases' rounds (initialize, claim,
		// complete): per-unit figures are per step, on either.
		r.Units = int64(2 * (rounds + warmup) * claimBatch)
		ph.fill(r)
		r.Units, r.Rate = int64(len(lat[i])), 0
		r.HandoffP50MS = ptr(percentile(lat[i], 50))
		r.HandoffP95MS = ptr(percentile(lat[i], 95))
		r.note("p50/p95: one engine.DispatchClaim of %d ready steps (the producer's claim: lock, lease, payload, commit)", claimBatch)
		if i == 0 {
			r.note("machine, CPU and per-unit figures cover the rounds on both databases (initialize, claim, complete), per step")
		}
		rows = append(rows, r)
	}
	return rows, nil
}
