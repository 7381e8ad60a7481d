package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/goccy/go-json"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-core-go/core/jsondoc"
	"github.com/tasker-systems/tasker-core-go/core/store"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
	"github.com/tasker-systems/tasker-core-go/core/template"
)

const opInitialize = "initialize_task"

// InitializeTask creates a task from a registered template in one
// transaction: the task, its steps (pending, not in process, not processed),
// their edges and initial transitions. A request whose identity matches an
// existing task is a DuplicateTaskError carrying that task's id; nothing is
// written on any error.
func (e *Engine) InitializeTask(ctx context.Context, req *tt.TaskRequest) (*tt.InitializeResult, error) {
	p, err := e.prepareTask(ctx, e.pool, req)
	if err != nil {
		return nil, err
	}
	var res *tt.InitializeResult
	err = store.InTx(ctx, e.pool, opInitialize, func(tx pgx.Tx) error {
		res, err = e.insertTask(ctx, tx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// initializeTaskTx is InitializeTask inside the caller's transaction (the
// take-up of a task request): nothing commits until the caller does.
func (e *Engine) initializeTaskTx(ctx context.Context, tx pgx.Tx, req *tt.TaskRequest) (*tt.InitializeResult, error) {
	p, err := e.prepareTask(ctx, tx, req)
	if err != nil {
		return nil, err
	}
	res, err := e.insertTask(ctx, tx, p)
	return res, store.InterpretError(opInitialize, err)
}

// preparedTask is a validated request with its template and identity.
type preparedTask struct {
	req         *tt.TaskRequest
	namedTaskID int64
	tpl         *template.Template
	strategy    tt.IdentityStrategy
	hash        string
	tags        []byte
}

// prepareTask checks a request against its template and computes its
// identity; it writes nothing.
func (e *Engine) prepareTask(ctx context.Context, db store.DBTX, req *tt.TaskRequest) (*preparedTask, error) {
	if err := validateRequest(req); err != nil {
		return nil, err
	}
	namedTaskID, tpl, err := e.resolveTemplate(ctx, db, req.Namespace, req.Name, req.Version)
	if err != nil {
		return nil, store.InterpretError(opInitialize, err)
	}
	if err := tpl.ValidateContext(req.Context); err != nil {
		return nil, err
	}
	strategy := tpl.Spec.IdentityStrategy
	if req.IdentityStrategy != "" {
		strategy = req.IdentityStrategy
	}
	hash, err := identityHash(namedTaskID, strategy, req)
	if err != nil {
		return nil, err
	}
	tags := req.Tags
	if tags == nil {
		tags = []string{}
	}
	tagsJSON, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	return &preparedTask{req: req, namedTaskID: namedTaskID, tpl: tpl, strategy: strategy, hash: hash, tags: tagsJSON}, nil
}

// insertTask writes a prepared task in tx, or returns the
// DuplicateTaskError of its identity having written nothing.
func (e *Engine) insertTask(ctx context.Context, tx pgx.Tx, p *preparedTask) (*tt.InitializeResult, error) {
	req := p.req
	if err := store.SetTransitionMetadata(ctx, tx, []byte(`{"event":"initialize_requested"}`)); err != nil {
		return nil, err
	}
	taskID, ok, err := store.TaskInsert(ctx, tx, &store.TaskInsertParams{
		NamedTaskID: p.namedTaskID, Context: req.Context, Initiator: req.Initiator, SourceSystem: req.SourceSystem,
		Reason: req.Reason, Tags: p.tags, IdentityHash: p.hash, Priority: req.Priority,
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		existing, err := store.TaskIDByIdentity(ctx, tx, p.hash)
		if err != nil {
			return nil, err
		}
		return nil, &tt.DuplicateTaskError{ExistingTaskID: existing, Strategy: p.strategy}
	}
	res := &tt.InitializeResult{TaskID: taskID, HandlerConfigName: p.tpl.Spec.Name}
	if err := e.createSteps(ctx, tx, taskID, p.namedTaskID, p.tpl, req.Priority, res); err != nil {
		return nil, err
	}
	// Wakes the dispatchers of the namespace when the task commits.
	return res, store.StepsReadyNotify(ctx, tx, p.tpl.Spec.Namespace)
}

func (e *Engine) createSteps(ctx context.Context, tx pgx.Tx, taskID, namedTaskID int64, tpl *template.Template, priority int, res *tt.InitializeResult) error {
	named, err := store.NamedTaskSteps(ctx, tx, namedTaskID)
	if err != nil {
		return err
	}
	steps := tpl.Spec.Steps
	p := &store.StepsInsertParams{TaskID: taskID, Priority: priority}
	for _, s := range steps {
		p.NamedStepIDs = append(p.NamedStepIDs, named[s.Name])
		p.Retryable = append(p.Retryable, s.RetryableOrDefault())
		p.RetryLimits = append(p.RetryLimits, int32(s.RetryLimitOrDefault()))
		p.PendingParents = append(p.PendingParents, int32(len(s.DependsOn)))
	}
	ids, err := store.StepsInsert(ctx, tx, p)
	if err != nil {
		return err
	}
	res.StepMapping = make(map[string]int64, len(steps))
	for _, s := range steps {
		res.StepMapping[s.Name] = ids[named[s.Name]]
	}
	var from, to []int64
	for _, s := range steps {
		for _, d := range s.DependsOn {
			from = append(from, res.StepMapping[d])
			to = append(to, res.StepMapping[s.Name])
		}
	}
	if len(from) > 0 {
		if err := store.EdgesInsert(ctx, tx, from, to); err != nil {
			return err
		}
	}
	res.StepCount = len(steps)
	res.WorkflowSteps, err = store.StepsForTask(ctx, tx, taskID)
	return err
}

func validateRequest(req *tt.TaskRequest) error {
	if req == nil {
		return tt.NewValidationError(opInitialize, "", "task request is required")
	}
	v := &tt.ValidationError{Op: opInitialize}
	if req.Namespace == "" {
		v.Problems = append(v.Problems, tt.FieldError{Field: "namespace", Problem: "is required"})
	}
	if req.Name == "" {
		v.Problems = append(v.Problems, tt.FieldError{Field: "name", Problem: "is required"})
	}
	if len(bytes.TrimSpace(req.Context)) == 0 {
		v.Problems = append(v.Problems, tt.FieldError{Field: "context", Problem: "is required (a JSON object)"})
	}
	if req.IdentityStrategy != "" && !req.IdentityStrategy.Valid() {
		v.Problems = append(v.Problems, tt.FieldError{Field: "identity_strategy",
			Problem: "must be one of strict, caller_provided, always_unique, got " + strconv.Quote(string(req.IdentityStrategy))})
	}
	for _, f := range []struct{ name, value string }{{"initiator", req.Initiator}, {"source_system", req.SourceSystem}, {"reason", req.Reason}} {
		if len(f.value) > 128 {
			v.Problems = append(v.Problems, tt.FieldError{Field: f.name, Problem: "must be at most 128 bytes, got " + strconv.Itoa(len(f.value))})
		}
	}
	if len(req.IdempotencyKey) > 255 {
		v.Problems = append(v.Problems, tt.FieldError{Field: "idempotency_key", Problem: "must be at most 255 bytes"})
	}
	if len(v.Problems) > 0 {
		return v
	}
	return nil
}

// identityHash decides which requests are the same task. An idempotency key,
// when given, is the identity whatever the strategy.
func identityHash(namedTaskID int64, strategy tt.IdentityStrategy, req *tt.TaskRequest) (string, error) {
	h := sha256.New()
	h.Write([]byte(strconv.FormatInt(namedTaskID, 10)))
	switch {
	case req.IdempotencyKey != "":
		h.Write([]byte("|key|" + req.IdempotencyKey))
	case strategy == tt.IdentityCallerProvided:
		return "", tt.NewValidationError(opInitialize, "idempotency_key", "is required by the caller_provided identity strategy")
	case strategy == tt.IdentityAlwaysUnique:
		h.Write([]byte("|unique|" + uuid.NewString()))
	default:
		v, err := jsondoc.Decode(req.Context)
		if err != nil {
			return "", tt.NewValidationError(opInitialize, "context", "is not valid JSON: %v", err)
		}
		canon, err := jsondoc.Canonical(v)
		if err != nil {
			return "", tt.NewValidationError(opInitialize, "context", "is not valid JSON: %v", err)
		}
		h.Write([]byte("|context|"))
		h.Write(canon)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
