package template

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"github.com/tasker-systems/tasker-core-go/core/taskertype"

	"github.com/tasker-systems/tasker-core-go/core/jsondoc"
)

// build turns a checked spec into its Template. It must only be called when
// check found no problem.
func (c *checker) build() (*Template, error) {
	s := c.spec
	norm := taskertype.TemplateSpec{
		Namespace:        s.Namespace,
		Name:             s.Name,
		Version:          s.Version,
		Description:      s.Description,
		IdentityStrategy: s.IdentityStrategy,
		Steps:            make([]taskertype.StepSpec, len(s.Steps)),
	}
	if norm.IdentityStrategy == "" {
		norm.IdentityStrategy = taskertype.IdentityStrict
	}
	shape := map[string]any{
		"namespace":         norm.Namespace,
		"name":              norm.Name,
		"version":           norm.Version,
		"identity_strategy": string(norm.IdentityStrategy),
	}
	if c.hasSchema {
		raw, err := jsondoc.Canonical(c.contextSchema)
		if err != nil {
			return nil, err
		}
		norm.ContextSchema = raw
		shape["context_schema"] = c.contextSchema
	}

	shapeSteps := make([]any, len(s.Steps))
	for i, st := range s.Steps {
		cfg := c.handlerConfigs[i]
		if cfg == nil {
			cfg = map[string]any{}
		}
		raw, err := jsondoc.Canonical(cfg)
		if err != nil {
			return nil, err
		}
		retryable, retryLimit := st.RetryableOrDefault(), st.RetryLimitOrDefault()
		deps := append(make([]string, 0, len(st.DependsOn)), st.DependsOn...)
		norm.Steps[i] = taskertype.StepSpec{
			Name:          st.Name,
			Description:   st.Description,
			Handler:       st.Handler,
			HandlerConfig: raw,
			DependsOn:     deps,
			Retryable:     &retryable,
			RetryLimit:    &retryLimit,
		}
		if st.TimeoutSeconds != nil {
			n := *st.TimeoutSeconds
			norm.Steps[i].TimeoutSeconds = &n
		}
		// The order of depends_on means nothing, so it does not change the shape.
		sortedDeps := slices.Clone(deps)
		slices.Sort(sortedDeps)
		shapeSteps[i] = map[string]any{
			"name":           st.Name,
			"handler":        st.Handler,
			"handler_config": cfg,
			"depends_on":     sortedDeps,
			"retryable":      retryable,
			"retry_limit":    retryLimit,
		}
		// Only when set, so templates written before it keep their shape.
		if st.TimeoutSeconds != nil {
			shapeSteps[i].(map[string]any)["timeout_seconds"] = *st.TimeoutSeconds
		}
	}
	shape["steps"] = shapeSteps

	canon, err := jsondoc.Canonical(shape)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canon)

	order, levels := topoOrder(c.graph, norm.Steps)
	return &Template{
		Spec:      norm,
		ShapeHash: hex.EncodeToString(sum[:]),
		Order:     order,
		Levels:    levels,
		index:     c.first,
		schema:    c.schema,
	}, nil
}

// cloneStep copies a step so that the copy shares no memory with it.
func cloneStep(st taskertype.StepSpec) taskertype.StepSpec {
	st.HandlerConfig = slices.Clone(st.HandlerConfig)
	st.DependsOn = append(make([]string, 0, len(st.DependsOn)), st.DependsOn...)
	if st.Retryable != nil {
		r := *st.Retryable
		st.Retryable = &r
	}
	if st.RetryLimit != nil {
		n := *st.RetryLimit
		st.RetryLimit = &n
	}
	if st.TimeoutSeconds != nil {
		n := *st.TimeoutSeconds
		st.TimeoutSeconds = &n
	}
	return st
}
