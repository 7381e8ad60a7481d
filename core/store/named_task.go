package store

import (
	"context"
	"strings"

	"github.com/tasker-systems/tasker-core-go/core/store/internal/dbsqlc"
)

// NamespaceUpsert returns the id of the namespace, creating it if needed.
func NamespaceUpsert(ctx context.Context, db DBTX, name string) (int64, error) {
	return queries.NamespaceUpsert(ctx, db, name)
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
	return optional(queries.NamedTaskInsert(ctx, db, dbsqlc.NamedTaskInsertParams{
		TaskNamespaceID:  p.NamespaceID,
		Name:             p.Name,
		Version:          p.Version,
		Description:      nullable(p.Description),
		IdentityStrategy: p.IdentityStrategy,
		Configuration:    p.Configuration,
		ShapeHash:        p.ShapeHash,
	}))
}

// NamedTask is a stored template version.
type NamedTask struct {
	ID            int64
	ShapeHash     string
	Configuration []byte
}

// NamedTaskGet finds a template version; ok is false when there is none.
func NamedTaskGet(ctx context.Context, db DBTX, namespace, name, version string) (nt NamedTask, ok bool, err error) {
	row, ok, err := optional(queries.NamedTaskGet(ctx, db, dbsqlc.NamedTaskGetParams{Namespace: namespace, Name: name, Version: version}))
	return NamedTask{ID: row.NamedTaskID, ShapeHash: row.ShapeHash, Configuration: row.Configuration}, ok, err
}

// NamedTaskVersions lists the registered versions of a template.
func NamedTaskVersions(ctx context.Context, db DBTX, namespace, name string) ([]string, error) {
	return queries.NamedTaskVersions(ctx, db, dbsqlc.NamedTaskVersionsParams{Namespace: namespace, Name: name})
}

// NamedStepsUpsert returns the id of each named step, creating missing ones.
func NamedStepsUpsert(ctx context.Context, db DBTX, names []string) (map[string]int64, error) {
	rows, err := queries.NamedStepsUpsert(ctx, db, names)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Name] = r.NamedStepID
	}
	return out, nil
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
	p := dbsqlc.NamedTaskStepsInsertParams{
		NamedTaskID: namedTaskID, NamedStepIds: make([]int64, n), Positions: make([]int32, n),
		HandlerNames: make([]string, n), HandlerConfigs: make([]string, n), DependsOn: make([]string, n),
		Retryable: make([]bool, n), RetryLimits: make([]int32, n), TimeoutSeconds: make([]int32, n),
	}
	for i, s := range steps {
		p.NamedStepIds[i], p.Positions[i], p.HandlerNames[i], p.HandlerConfigs[i] = s.NamedStepID, s.Position, s.HandlerName, s.HandlerConfig
		p.DependsOn[i], p.Retryable[i], p.RetryLimits[i] = strings.Join(s.DependsOn, ","), s.Retryable, s.RetryLimit
		if s.TimeoutSeconds != nil {
			p.TimeoutSeconds[i] = *s.TimeoutSeconds // 0 (none) is stored as NULL
		}
	}
	return queries.NamedTaskStepsInsert(ctx, db, p)
}

// NamedTaskSteps maps each step name of a template version to its named step id.
func NamedTaskSteps(ctx context.Context, db DBTX, namedTaskID int64) (map[string]int64, error) {
	rows, err := queries.NamedTaskSteps(ctx, db, namedTaskID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Name] = r.NamedStepID
	}
	return out, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
