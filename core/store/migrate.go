package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

//go:embed migration/*.sql
var migrationFS embed.FS

// Migration is one numbered schema change and its SQL.
type Migration struct {
	tt.Migration
	up string
}

// migrationLockKey is the advisory lock every migrating process takes, so two
// processes migrating at once apply each migration once.
const migrationLockKey = 0x7461736b6572 // "tasker"

// Migrations lists the embedded migrations in order.
func Migrations() ([]Migration, error) {
	files, err := fs.Glob(migrationFS, "migration/*.up.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, f := range files {
		base := strings.TrimSuffix(strings.TrimPrefix(f, "migration/"), ".up.sql")
		num, name, ok := strings.Cut(base, "_")
		if !ok {
			return nil, fmt.Errorf("migration file %s is not named NNN_name.up.sql", f)
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration file %s: version %q is not a number", f, num)
		}
		body, err := migrationFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Migration: tt.Migration{Version: v, Name: name}, up: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate applies every migration not yet applied, in one transaction under a
// transaction-scoped advisory lock: running it twice, or from several
// processes at once, applies each migration exactly once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (*tt.MigrateResult, error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	res := &tt.MigrateResult{Applied: []tt.Migration{}}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockKey)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS tasker_schema_migrations (
			version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		applied := map[int]bool{}
		rows, err := tx.Query(ctx, "SELECT version FROM tasker_schema_migrations")
		if err != nil {
			return err
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return err
		}
		for _, v := range versions {
			applied[int(v)] = true
		}
		for _, m := range all {
			if applied[m.Version] {
				res.CurrentVersion = m.Version
				continue
			}
			if _, err := tx.Exec(ctx, m.up); err != nil {
				return fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO tasker_schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
				return err
			}
			res.Applied = append(res.Applied, m.Migration)
			res.CurrentVersion = m.Version
		}
		return nil
	})
	if err != nil {
		return nil, InterpretError("migrate", err)
	}
	return res, nil
}
