package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-json"
	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
	"github.com/tasker-systems/tasker-core-go/core/template"
)

// RegisterTemplate validates spec and records it. The same namespace, name
// and version with the same shape is a no-op (Created false); with a different
// shape it is a TemplateConflictError. Nothing is written on any error.
func (e *Engine) RegisterTemplate(ctx context.Context, spec *tt.TemplateSpec) (*tt.TemplateResult, error) {
	if spec == nil {
		return nil, tt.NewValidationError("register_template", "", "template is required")
	}
	tpl, err := template.Compile(spec)
	if err != nil {
		return nil, err
	}
	s := tpl.Spec
	res := &tt.TemplateResult{Namespace: s.Namespace, Name: s.Name, Version: s.Version, StepCount: len(s.Steps)}
	config, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	err = store.InTx(ctx, e.pool, "register_template", func(tx pgx.Tx) error {
		existing, ok, err := store.NamedTaskGet(ctx, tx, s.Namespace, s.Name, s.Version)
		if err != nil {
			return err
		}
		if ok {
			return sameShape(existing, tpl, res)
		}
		nsID, err := store.NamespaceUpsert(ctx, tx, s.Namespace)
		if err != nil {
			return err
		}
		id, ok, err := store.NamedTaskInsert(ctx, tx, &store.NamedTaskInsertParams{
			NamespaceID: nsID, Name: s.Name, Version: s.Version, Description: s.Description,
			IdentityStrategy: string(s.IdentityStrategy), Configuration: config, ShapeHash: tpl.ShapeHash,
		})
		if err != nil {
			return err
		}
		if !ok { // registered concurrently since we looked
			existing, _, err := store.NamedTaskGet(ctx, tx, s.Namespace, s.Name, s.Version)
			if err != nil {
				return err
			}
			return sameShape(existing, tpl, res)
		}
		names := make([]string, len(s.Steps))
		for i, st := range s.Steps {
			names[i] = st.Name
		}
		ids, err := store.NamedStepsUpsert(ctx, tx, names)
		if err != nil {
			return err
		}
		rows := make([]store.NamedTaskStep, len(s.Steps))
		for i, st := range s.Steps {
			rows[i] = store.NamedTaskStep{
				NamedStepID: ids[st.Name], Position: int32(i), HandlerName: st.Handler,
				HandlerConfig: string(st.HandlerConfig), DependsOn: st.DependsOn,
				Retryable: st.RetryableOrDefault(), RetryLimit: int32(st.RetryLimitOrDefault()),
			}
			if st.TimeoutSeconds != nil {
				n := int32(*st.TimeoutSeconds)
				rows[i].TimeoutSeconds = &n
			}
		}
		if err := store.NamedTaskStepsInsert(ctx, tx, id, rows); err != nil {
			return err
		}
		res.NamedTaskID, res.Created = id, true
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.cacheTemplate(res.NamedTaskID, tpl)
	return res, nil
}

func sameShape(existing store.NamedTask, tpl *template.Template, res *tt.TemplateResult) error {
	s := tpl.Spec
	if existing.ShapeHash != tpl.ShapeHash {
		return &tt.TemplateConflictError{Namespace: s.Namespace, Name: s.Name, Version: s.Version}
	}
	res.NamedTaskID, res.Created = existing.ID, false
	return nil
}

func (e *Engine) cacheTemplate(id int64, tpl *template.Template) {
	e.mu.Lock()
	e.templates[id] = tpl
	e.mu.Unlock()
}

// resolveTemplate finds the template a request names: the given version, or
// the newest registered one when the version is empty.
func (e *Engine) resolveTemplate(ctx context.Context, db store.DBTX, namespace, name, version string) (int64, *template.Template, error) {
	if version == "" {
		versions, err := store.NamedTaskVersions(ctx, db, namespace, name)
		if err != nil {
			return 0, nil, err
		}
		if len(versions) == 0 {
			return 0, nil, &tt.NotFoundError{Kind: "template", Key: namespace + "/" + name}
		}
		version = newestVersion(versions)
	}
	nt, ok, err := store.NamedTaskGet(ctx, db, namespace, name, version)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, &tt.NotFoundError{Kind: "template", Key: namespace + "/" + name + "@" + version}
	}
	e.mu.RLock()
	tpl := e.templates[nt.ID]
	e.mu.RUnlock()
	if tpl != nil {
		return nt.ID, tpl, nil
	}
	var spec tt.TemplateSpec
	if err := json.Unmarshal(nt.Configuration, &spec); err != nil {
		return 0, nil, err
	}
	tpl, err = template.Compile(&spec)
	if err != nil {
		return 0, nil, err
	}
	e.cacheTemplate(nt.ID, tpl)
	return nt.ID, tpl, nil
}

// newestVersion picks the highest semantic version; a release outranks its
// pre-releases.
func newestVersion(versions []string) string {
	best := versions[0]
	for _, v := range versions[1:] {
		if compareVersions(v, best) > 0 {
			best = v
		}
	}
	return best
}

func compareVersions(a, b string) int {
	coreA, preA, _ := strings.Cut(a, "-")
	coreB, preB, _ := strings.Cut(b, "-")
	pa, pb := strings.Split(coreA, "."), strings.Split(coreB, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case preA == preB:
		return 0
	case preA == "":
		return 1
	case preB == "":
		return -1
	}
	return strings.Compare(preA, preB)
}

// TemplateIDs finds the named task of each template version, for a
// dispatcher that claims only what its handlers can run. A version that is
// not registered is a ValidationError naming it.
func (e *Engine) TemplateIDs(ctx context.Context, keys []tt.TemplateKey) ([]int64, error) {
	ids := make([]int64, 0, len(keys))
	for i, k := range keys {
		if k.Namespace == "" || k.Name == "" || k.Version == "" {
			return nil, tt.NewValidationError("dispatcher", fmt.Sprintf("templates[%d]", i), "needs namespace, name and version, got %q", k.String())
		}
		nt, ok, err := store.NamedTaskGet(ctx, e.pool, k.Namespace, k.Name, k.Version)
		if err != nil {
			return nil, store.InterpretError("template_ids", err)
		}
		if !ok {
			return nil, tt.NewValidationError("dispatcher", fmt.Sprintf("templates[%d]", i), "%s is not registered", k.String())
		}
		ids = append(ids, nt.ID)
	}
	return ids, nil
}
