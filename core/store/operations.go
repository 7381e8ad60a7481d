package store

import (
	"context"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/store/internal/dbsqlc"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// The operations surface's reads (listing, stats, stuck work) and the
// maintenance leader's record of stuck work.

// TaskListParams selects a page of tasks, newest first.
type TaskListParams struct {
	// States, when set, keeps tasks in these states.
	States []string
	// Templates restricts the list to these named tasks when ByTemplate is
	// set (an empty set then matches nothing).
	Templates  []int64
	ByTemplate bool
	// BeforeTaskID is the cursor (0: from the newest task).
	BeforeTaskID int64
	// OlderThanMS and NewerThanMS bound requested_at (nil: no bound).
	OlderThanMS, NewerThanMS *int64
	Limit                    int
}

// TaskList reads a page of tasks. Each shape of filter has a query whose
// plan walks an index in id order and stops after Limit rows: by state the
// current-state index of the transitions, by template the tasks' template
// index, else the primary key.
func TaskList(ctx context.Context, db DBTX, p *TaskListParams) ([]tt.TaskSummary, error) {
	before := p.BeforeTaskID
	if before <= 0 {
		before = math.MaxInt64
	}
	if p.ByTemplate && len(p.Templates) == 0 {
		return []tt.TaskSummary{}, nil
	}
	var rows []dbsqlc.TaskListRow
	var err error
	switch {
	case len(p.States) > 0:
		templates := p.Templates
		if templates == nil {
			templates = []int64{}
		}
		var r []dbsqlc.TaskListByStateRow
		r, err = queries.TaskListByState(ctx, db, dbsqlc.TaskListByStateParams{
			States: p.States, BeforeTaskID: before, NamedTaskIds: templates,
			OlderThanMs: p.OlderThanMS, NewerThanMs: p.NewerThanMS, MaxTasks: int32(p.Limit),
		})
		rows = convertRows(r, func(x dbsqlc.TaskListByStateRow) dbsqlc.TaskListRow { return dbsqlc.TaskListRow(x) })
	case p.ByTemplate:
		var r []dbsqlc.TaskListByTemplateRow
		r, err = queries.TaskListByTemplate(ctx, db, dbsqlc.TaskListByTemplateParams{
			NamedTaskIds: p.Templates, BeforeTaskID: before,
			OlderThanMs: p.OlderThanMS, NewerThanMs: p.NewerThanMS, MaxTasks: int32(p.Limit),
		})
		rows = convertRows(r, func(x dbsqlc.TaskListByTemplateRow) dbsqlc.TaskListRow { return dbsqlc.TaskListRow(x) })
	default:
		rows, err = queries.TaskList(ctx, db, dbsqlc.TaskListParams{
			BeforeTaskID: before, OlderThanMs: p.OlderThanMS, NewerThanMs: p.NewerThanMS, MaxTasks: int32(p.Limit),
		})
	}
	if err != nil {
		return nil, err
	}
	out := make([]tt.TaskSummary, len(rows))
	for i, r := range rows {
		out[i] = tt.TaskSummary{
			TaskID: r.TaskID, Namespace: r.Namespace, Name: r.Name, Version: r.Version, Status: tt.TaskState(r.Status),
			Priority: int(r.Priority), RequestedAt: r.RequestedAt, UpdatedAt: r.UpdatedAt, CompletedAt: r.CompletedAt,
		}
	}
	return out, nil
}

func convertRows[A, B any](in []A, f func(A) B) []B {
	out := make([]B, len(in))
	for i, a := range in {
		out[i] = f(a)
	}
	return out
}

// NamedTaskIDsMatching lists the templates of a namespace, of one name and
// version when those are not empty.
func NamedTaskIDsMatching(ctx context.Context, db DBTX, namespace, name, version string) ([]int64, error) {
	return queries.NamedTaskIDsMatching(ctx, db, dbsqlc.NamedTaskIDsMatchingParams{
		Namespace: namespace, Name: name, Version: version,
	})
}

// ReadySummary is how many steps may be claimed now, how long the oldest
// has waited (nil when none), and the server's clock.
type ReadySummary struct {
	Ready         int64
	OldestSeconds *float64
	Now           time.Time
}

// StuckStep is a step in progress past its lease or timeout.
type StuckStep = dbsqlc.StuckStepsRow

// StuckSteps finds steps in progress past their lease, or past their
// timeout (defaultTimeoutMS for steps whose template sets none) by more
// than graceMS.
func StuckSteps(ctx context.Context, db DBTX, defaultTimeoutMS, graceMS int64, limit int) ([]StuckStep, error) {
	return queries.StuckSteps(ctx, db, dbsqlc.StuckStepsParams{
		DefaultTimeoutMs: defaultTimeoutMS, GraceMs: graceMS, MaxFindings: int32(limit),
	})
}

// StuckTask is an unfinished task with nothing runnable, its steps counted
// by what holds them.
type StuckTask = dbsqlc.StuckTasksRow

// StuckTasks finds pending or in-progress tasks with no step running,
// waiting for a retry or ready.
func StuckTasks(ctx context.Context, db DBTX, limit int) ([]StuckTask, error) {
	return queries.StuckTasks(ctx, db, int32(limit))
}

// StuckKey identifies a finding: its kind, task and step (0 for a task
// finding).
type StuckKey struct {
	Kind   tt.StuckKind
	TaskID int64
	StepID int64
}

// KeyOf returns the key of a finding.
func KeyOf(w *tt.StuckWork) StuckKey {
	k := StuckKey{Kind: w.Kind, TaskID: w.TaskID}
	if w.StepID != nil {
		k.StepID = *w.StepID
	}
	return k
}

// StuckWorkReplace makes the record hold exactly these findings, keeping
// the first_seen_at of those already recorded.
func StuckWorkReplace(ctx context.Context, db DBTX, work []tt.StuckWork) error {
	p := dbsqlc.StuckWorkReplaceParams{
		Kinds: make([]string, len(work)), TaskIds: make([]int64, len(work)), StepIds: make([]int64, len(work)),
		Reasons: make([]string, len(work)), Details: make([]string, len(work)),
	}
	for i := range work {
		k := KeyOf(&work[i])
		p.Kinds[i], p.TaskIds[i], p.StepIds[i] = string(k.Kind), k.TaskID, k.StepID
		p.Reasons[i], p.Details[i] = work[i].Reason, string(work[i].Details)
	}
	return queries.StuckWorkReplace(ctx, db, p)
}

// StuckWorkFirstSeen returns when each recorded finding was first seen.
func StuckWorkFirstSeen(ctx context.Context, db DBTX) (map[StuckKey]time.Time, error) {
	rows, err := queries.StuckWorkFirstSeen(ctx, db)
	out := make(map[StuckKey]time.Time, len(rows))
	for _, r := range rows {
		out[StuckKey{Kind: tt.StuckKind(r.Kind), TaskID: r.TaskID, StepID: r.StepID}] = r.FirstSeenAt
	}
	return out, err
}

// TaskStepCountsMany counts the steps of each task by what they can still
// do; tasks without steps are absent.
func TaskStepCountsMany(ctx context.Context, db DBTX, taskIDs []int64) (map[int64]StepCounts, error) {
	rows, err := queries.TaskStepCountsMany(ctx, db, taskIDs)
	out := make(map[int64]StepCounts, len(rows))
	for _, c := range rows {
		out[c.TaskID] = StepCounts{Total: int(c.Total), Done: int(c.Done), Failed: int(c.Failed), Active: int(c.Active)}
	}
	return out, err
}

// StatsSnapshot is what OperationsStats reads, in one round trip.
type StatsSnapshot struct {
	Tasks      map[tt.TaskState]int64
	OpenSteps  map[tt.StepState]int64
	Ready      ReadySummary
	Stuck      map[tt.StuckKind]int64
	Throughput []tt.MinuteThroughput
}

// OperationsStats reads the task counts, the open steps' counts, the ready
// steps, the recorded stuck work and the throughput of the last minutes,
// sending the five statements in one batch.
func OperationsStats(ctx context.Context, db BatchDB, minutes int) (*StatsSnapshot, error) {
	s := &StatsSnapshot{Tasks: map[tt.TaskState]int64{}, OpenSteps: map[tt.StepState]int64{}, Stuck: map[tt.StuckKind]int64{}}
	b := &pgx.Batch{}
	b.Queue(dbsqlc.TaskCountsByState, taskStates()).Query(func(rows pgx.Rows) error {
		r, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dbsqlc.TaskCountsByStateRow])
		for _, c := range r {
			s.Tasks[tt.TaskState(c.State)] = c.Tasks
		}
		return err
	})
	b.Queue(dbsqlc.OpenStepCounts).Query(func(rows pgx.Rows) error {
		r, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dbsqlc.OpenStepCountsRow])
		for _, c := range r {
			s.OpenSteps[tt.StepState(c.State)] = c.Steps
		}
		return err
	})
	b.Queue(dbsqlc.StepsReadySummary).QueryRow(func(row pgx.Row) error {
		var oldest float64
		if err := row.Scan(&s.Ready.Ready, &oldest, &s.Ready.Now); err != nil {
			return err
		}
		if oldest >= 0 {
			s.Ready.OldestSeconds = &oldest
		}
		return nil
	})
	b.Queue(dbsqlc.StuckWorkCounts).Query(func(rows pgx.Rows) error {
		r, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dbsqlc.StuckWorkCountsRow])
		for _, c := range r {
			s.Stuck[tt.StuckKind(c.Kind)] = c.Findings
		}
		return err
	})
	b.Queue(dbsqlc.StepThroughput, int32(minutes)).Query(func(rows pgx.Rows) error {
		r, err := pgx.CollectRows(rows, pgx.RowToStructByPos[dbsqlc.StepThroughputRow])
		s.Throughput = convertRows(r, func(x dbsqlc.StepThroughputRow) tt.MinuteThroughput {
			return tt.MinuteThroughput{Minute: x.Minute, Completed: x.Completed, Failed: x.Failed}
		})
		return err
	})
	if err := db.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return s, nil
}

// BatchDB sends a pgx.Batch: a pool, a connection or a transaction.
type BatchDB interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

func taskStates() []string {
	out := make([]string, 0, len(tt.TaskStates()))
	for _, s := range tt.TaskStates() {
		out = append(out, string(s))
	}
	return out
}
