package engine_test

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"fmt"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// decodeExact decodes JSON keeping numbers as json.Number.
func decodeExact(t testing.TB, raw []byte) any {
	t.Helper()
	dec := stdjson.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v), "decode %.200s", raw)
	return v
}

// requireJSONEqual compares two JSON documents semantically: object key
// order and number spelling (1e2 vs 100, 1.0 vs 1) do not matter, number
// values must be exactly equal.
func requireJSONEqual(t testing.TB, want, got []byte, msgAndArgs ...any) {
	t.Helper()
	w, g := decodeExact(t, want), decodeExact(t, got)
	if path, ok := jsonEqual(w, g, "$"); !ok {
		require.Fail(t, fmt.Sprintf("JSON differs at %s:\nwant %.300s\ngot  %.300s", path, want, got), msgAndArgs...)
	}
}

func jsonEqual(a, b any, path string) (string, bool) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return path, false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok {
				return path + "." + k, false
			}
			if p, ok := jsonEqual(v, w, path+"."+k); !ok {
				return p, false
			}
		}
		return "", true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return path, false
		}
		for i := range x {
			if p, ok := jsonEqual(x[i], y[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, false
			}
		}
		return "", true
	case stdjson.Number:
		y, ok := b.(stdjson.Number)
		if !ok {
			return path, false
		}
		rx, okx := new(big.Rat).SetString(string(x))
		ry, oky := new(big.Rat).SetString(string(y))
		return path, okx && oky && rx.Cmp(ry) == 0
	default:
		return path, a == b
	}
}

type transitionRow struct {
	From       *string
	To         string
	SortKey    int
	MostRecent bool
}

func (r transitionRow) String() string {
	from := "nil"
	if r.From != nil {
		from = *r.From
	}
	return fmt.Sprintf("%s->%s#%d(%v)", from, r.To, r.SortKey, r.MostRecent)
}

func stepTransitions(t testing.TB, stepID int64) []transitionRow {
	t.Helper()
	return transitions(t, `SELECT from_state, to_state, sort_key, most_recent FROM tasker_workflow_step_transitions
		WHERE workflow_step_id = $1 ORDER BY sort_key`, stepID)
}

func taskTransitions(t testing.TB, taskID int64) []transitionRow {
	t.Helper()
	return transitions(t, `SELECT from_state, to_state, sort_key, most_recent FROM tasker_task_transitions
		WHERE task_id = $1 ORDER BY sort_key`, taskID)
}

func transitions(t testing.TB, sql string, id int64) []transitionRow {
	t.Helper()
	rows, err := taskertest.Pool(t).Query(context.Background(), sql, id)
	require.NoError(t, err)
	defer rows.Close()
	var out []transitionRow
	for rows.Next() {
		var r transitionRow
		require.NoError(t, rows.Scan(&r.From, &r.To, &r.SortKey, &r.MostRecent))
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

// toStates lists the to_state of each transition.
func toStates(rows []transitionRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.To
	}
	return out
}

// requireWellFormed checks sort keys 0..n-1, exactly one most_recent (the
// last), and each row's from_state equal to the previous row's to_state.
func requireWellFormed(t testing.TB, rows []transitionRow) {
	t.Helper()
	require.NotEmpty(t, rows)
	for i, r := range rows {
		require.Equal(t, i, r.SortKey, "sort keys: %v", rows)
		require.Equal(t, i == len(rows)-1, r.MostRecent, "most_recent: %v", rows)
		if i == 0 {
			require.Nil(t, r.From, "first transition: %v", rows)
		} else {
			require.NotNil(t, r.From, "transition %d: %v", i, rows)
			require.Equal(t, rows[i-1].To, *r.From, "transition %d: %v", i, rows)
		}
	}
}

func countRows(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, taskertest.Pool(t).QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// stepsByName indexes a task's steps.
func stepsByName(st *tt.TaskStatus) map[string]tt.WorkflowStep {
	out := make(map[string]tt.WorkflowStep, len(st.Steps))
	for _, s := range st.Steps {
		out[s.Name] = s
	}
	return out
}

func requireCode(t testing.TB, err error, code tt.Code, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.Equal(t, code, tt.CodeOf(err), "error: %v %v", err, msgAndArgs)
}
