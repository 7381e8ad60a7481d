package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/statemachine"
	"github.com/tasker-systems/tasker-core-go/core/store"
	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// The database's table of legal moves is the Go table, row for row.
func TestTransitionRulesTableIsTheGoTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := taskertest.Pool(t)
	rows, err := pool.Query(ctx, "SELECT entity, event, from_state, to_state FROM tasker_transition_rules")
	require.NoError(t, err)
	sqlRules, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var entity, event, from, to string
		err := r.Scan(&entity, &event, &from, &to)
		return fmt.Sprintf("%s %s %s->%s", entity, event, from, to), err
	})
	require.NoError(t, err)
	var goRules []string
	for _, r := range statemachine.Rules() {
		goRules = append(goRules, fmt.Sprintf("%s %s %s->%s", r.Entity, r.Event, r.From, r.To))
	}
	require.ElementsMatch(t, goRules, sqlRules)
}

// Every status change the database is asked for, by every event and by none,
// is written exactly when the Go table allows it; a refused one is an
// InvalidTransitionError naming the move and leaves the row as it was.
func TestDatabaseRefusesEveryIllegalMove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	pool := taskertest.Pool(t)
	init := taskertest.Start(t, e, taskertest.DiamondWorkflow(taskertest.Namespace(t)), map[string]any{})
	stepID, taskID := init.StepMapping["start"], init.TaskID

	events := []statemachine.Event{"", statemachine.EventExecutionRequested, statemachine.EventStartRequested,
		statemachine.EventCompleted, statemachine.EventFailed, statemachine.EventLeaseExpired, statemachine.EventReleased,
		statemachine.EventCancelled, statemachine.EventResolvedManually, statemachine.EventRetryRequested}
	type entity struct {
		name, table, key, transitions string
		id                            int64
		states                        []string
		allowed                       func(ev statemachine.Event, from, to string) bool
	}
	var stepStates, taskStates []string
	for _, s := range tt.StepStates() {
		stepStates = append(stepStates, string(s))
	}
	for _, s := range tt.TaskStates() {
		taskStates = append(taskStates, string(s))
	}
	anyEvent := func(check func(ev statemachine.Event) bool) bool {
		return slices.ContainsFunc(events[1:], check)
	}
	entities := []entity{
		{name: "step", table: "tasker_workflow_steps", key: "workflow_step_id", transitions: "tasker_workflow_step_transitions",
			id: stepID, states: stepStates, allowed: func(ev statemachine.Event, from, to string) bool {
				ok := func(ev statemachine.Event) bool {
					return statemachine.CheckStep(stepID, ev, tt.StepState(from), tt.StepState(to)) == nil
				}
				if ev == "" {
					return anyEvent(ok)
				}
				return ok(ev)
			}},
		{name: "task", table: "tasker_tasks", key: "task_id", transitions: "tasker_task_transitions",
			id: taskID, states: taskStates, allowed: func(ev statemachine.Event, from, to string) bool {
				ok := func(ev statemachine.Event) bool {
					return statemachine.CheckTask(taskID, ev, tt.TaskState(from), tt.TaskState(to)) == nil
				}
				if ev == "" {
					return anyEvent(ok)
				}
				return ok(ev)
			}},
	}

	written, refused := 0, 0
	for _, ent := range entities {
		for _, from := range ent.states {
			for _, to := range ent.states {
				if from == to {
					continue
				}
				for _, ev := range events {
					err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
						// Put the row in `from`, transition row included, past the triggers.
						for _, q := range []string{
							"SET LOCAL session_replication_role = replica",
							fmt.Sprintf("UPDATE %s SET status = $1 WHERE %s = $2", ent.table, ent.key),
							fmt.Sprintf("UPDATE %s SET to_state = $1 WHERE %s = $2 AND most_recent", ent.transitions, ent.key),
							"SET LOCAL session_replication_role = origin",
						} {
							args := []any{from, ent.id}
							if q[:3] == "SET" {
								args = nil
							}
							if _, err := tx.Exec(ctx, q, args...); err != nil {
								return err
							}
						}
						meta := "{}"
						if ev != "" {
							meta = fmt.Sprintf(`{"event":%q}`, ev)
						}
						if err := store.SetTransitionMetadata(ctx, tx, []byte(meta)); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, fmt.Sprintf("UPDATE %s SET status = $1 WHERE %s = $2", ent.table, ent.key), to, ent.id)
						if err != nil {
							return store.InterpretError("move", err)
						}
						var recorded string
						if err := tx.QueryRow(ctx, fmt.Sprintf("SELECT from_state || '->' || to_state FROM %s WHERE %s = $1 AND most_recent",
							ent.transitions, ent.key), ent.id).Scan(&recorded); err != nil {
							return err
						}
						if recorded != from+"->"+to {
							return fmt.Errorf("recorded %s", recorded)
						}
						return errRollback
					})
					move := fmt.Sprintf("%s %s->%s on event %q", ent.name, from, to, ev)
					if ent.allowed(ev, from, to) {
						require.ErrorIs(t, err, errRollback, move)
						written++
						continue
					}
					var ite *tt.InvalidTransitionError
					require.ErrorAs(t, err, &ite, move)
					require.Equal(t, tt.InvalidTransitionError{Entity: ent.name, ID: ent.id, From: from, To: to}, *ite, move)
					refused++
				}
			}
		}
	}
	require.Positive(t, written)
	require.Greater(t, refused, written)
}

var errRollback = fmt.Errorf("rolled back on purpose")
