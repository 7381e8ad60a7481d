package store

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
)

// NamespaceUpsert returns the id of the namespace, creating it if needed.
func NamespaceUpsert(ctx context.Context, db DBTX, name string) (int64, error) {
	var id int64
	err := db.QueryRow(ctx, sqlOf("NamespaceUpsert"), name).Scan(&id)
	return id, err
}

// NamedTaskInsertParams is a template version to record.
type NamedTaskInsertParams struct {
	NamespaceID      int64
	Name, Version    string
	Description      string
	IdentityStrategy string
	Configuration    []byte
	ShapeHash        string
}

// NamedTaskInsert records a template version; ok is false when that version
// already exists (nothing is written then).
func NamedTaskInsert(ctx context.Context, db DBTX, p *NamedTaskInsertParams) (id int64, ok bool, err error) {
	err = db.QueryRow(ctx, sqlOf("NamedTaskInsert"), p.NamespaceID, p.Name, p.Version, nullable(p.Description),
		p.IdentityStrategy, p.Configuration, p.ShapeHash).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// NamedTask is a stored template version.
type NamedTask struct {
	ID            int64
	ShapeHash     string
	Configuration []byte
}

// NamedTaskGet finds a template version; ok is false when there is none.
func NamedTaskGet(ctx context.Context, db DBTX, namespace, name, version string) (nt NamedTask, ok bool, err error) {
	err = db.QueryRow(ctx, sqlOf("NamedTaskGet"), namespace, name, version).Scan(&nt.ID, &nt.ShapeHash, &nt.Configuration)
	if errors.Is(err, pgx.ErrNoRows) {
		return nt, false, nil
	}
	return nt, err == nil, err
}

// NamedTaskVersions lists the registered versions of a template.
func NamedTaskVersions(ctx context.Context, db DBTX, namespace, name string) ([]string, error) {
	rows, err := db.Query(ctx, sqlOf("NamedTaskVersions"), namespace, name)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// NamedStepsUpsert returns the id of each named step, creating missing ones.
func NamedStepsUpsert(ctx context.Context, db DBTX, names []string) (map[string]int64, error) {
	rows, err := db.Query(ctx, sqlOf("NamedStepsUpsert"), names)
	if err != nil {
		return nil, err
	}
	return collectNameIDs(rows)
}

// NamedTaskStep is one step of a template version as stored.
type NamedTaskStep struct {
	NamedStepID   int64
	Position      int32
	HandlerName   string
	HandlerConfig string
	DependsOn     []string
	Retryable     bool
	RetryLimit    int32
	// TimeoutSeconds is nil when the template leaves it to the worker.
	TimeoutSeconds *int32
}

// NamedTaskStepsInsert records the steps of a template version.
func NamedTaskStepsInsert(ctx context.Context, db DBTX, namedTaskID int64, steps []NamedTaskStep) error {
	n := len(steps)
	ids, pos, handlers, configs, deps := make([]int64, n), make([]int32, n), make([]string, n), make([]string, n), make([]string, n)
	retryable, limits, timeouts := make([]bool, n), make([]int32, n), make([]*int32, n)
	for i, s := range steps {
		timeouts[i] = s.TimeoutSeconds
		ids[i], pos[i], handlers[i], configs[i] = s.NamedStepID, s.Position, s.HandlerName, s.HandlerConfig
		deps[i], retryable[i], limits[i] = strings.Join(s.DependsOn, ","), s.Retryable, s.RetryLimit
	}
	_, err := db.Exec(ctx, sqlOf("NamedTaskStepsInsert"), namedTaskID, ids, pos, handlers, configs, deps, retryable, limits, timeouts)
	return err
}

// NamedTaskSteps maps each step name of a template version to its named step id.
func NamedTaskSteps(ctx context.Context, db DBTX, namedTaskID int64) (map[string]int64, error) {
	rows, err := db.Query(ctx, sqlOf("NamedTaskSteps"), namedTaskID)
	if err != nil {
		return nil, err
	}
	return collectNameIDs(rows)
}

func collectNameIDs(rows pgx.Rows) (map[string]int64, error) {
	out := map[string]int64{}
	var id int64
	var name string
	_, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		out[name] = id
		return nil
	})
	return out, err
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
