// Package template validates and compiles task templates: a named, versioned
// DAG of steps. Compile checks a TemplateSpec as registered, reports every
// problem at once as a *taskertype.ValidationError, and returns a Template
// holding the normalized spec, its shape hash, a topological order of the
// steps and the compiled context schema. A Template is immutable and safe
// for concurrent use.
//
// A context schema is JSON Schema (draft 2020-12 unless it names another
// draft in $schema), with the format keyword asserted. It must be self
// contained: references outside it are errors, and nothing is ever read from
// a file or the network. Schemas that would take exponential time to check
// (subschemas applying each other over and over through allOf, anyOf, oneOf
// or $ref) are rejected at registration, so ValidateContext stays cheap.
package template

import (
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Limits of a template. They match the columns of tasker_named_tasks and
// tasker_named_tasks_named_steps.
const (
	MaxNameLength        = 64     // namespace, template name and version
	MaxStepNameLength    = 128    // step name
	MaxHandlerLength     = 255    // step handler
	MaxDescriptionLength = 255    // template and step descriptions
	MaxSteps             = 10000  // steps of one template
	MaxRetryLimit        = 1000   // a step's retry_limit
	MaxTimeoutSeconds    = 604800 // a step's timeout_seconds: one week
	// MaxJSONDepth is how deeply handler_config and a task's context may nest
	// arrays and objects.
	MaxJSONDepth = 10000
	// MaxSchemaDepth and MaxSchemaContainers bound a context_schema: how
	// deeply it nests arrays and objects, and how many it has. Compiling a
	// schema takes time quadratic in its size.
	MaxSchemaDepth      = 64
	MaxSchemaContainers = 5000
)

// Operations named by the validation errors of this package.
const (
	OpRegisterTemplate = "register_template"
	OpInitializeTask   = "initialize_task"
)

// Template is a compiled task template.
type Template struct {
	// Spec is a normalized copy of the registered spec: IdentityStrategy is
	// set (strict when unset), every step's Retryable and RetryLimit are set
	// to their defaults when unset, HandlerConfig is a canonical JSON object
	// ({} when unset) and DependsOn is non-nil. ContextSchema is canonical
	// JSON, or nil when there is none.
	Spec taskertype.TemplateSpec
	// ShapeHash is the hex SHA-256 of a canonical JSON encoding of Spec
	// without its descriptions: object keys sorted, no insignificant
	// whitespace, depends_on sorted. Two specs with the same shape hash the
	// same whatever their key order or formatting.
	ShapeHash string
	// Order lists the step names in a topological order (Kahn's algorithm,
	// ties broken by declaration order): each step comes after all the steps
	// it depends on.
	Order []string
	// Levels gives each step's dependency level: 0 for a step with no
	// dependencies, otherwise one more than its deepest parent.
	Levels map[string]int

	index  map[string]int     // step name -> index in Spec.Steps
	schema *jsonschema.Schema // compiled context schema, nil when none
}

// Compile validates spec and returns the compiled template. When spec has
// problems it returns a *taskertype.ValidationError (Op "register_template")
// listing every problem found, each with the path of its field. Compile does
// not modify spec and the Template shares no memory with it.
func Compile(spec *taskertype.TemplateSpec) (*Template, error) {
	if spec == nil {
		return nil, taskertype.NewValidationError(OpRegisterTemplate, "", "template is missing")
	}
	c := newChecker(spec)
	c.check()
	if len(c.problems) > 0 {
		return nil, &taskertype.ValidationError{Op: OpRegisterTemplate, Problems: c.problems}
	}

	t, err := c.build()
	if err != nil {
		// Every JSON value was decoded by check, so encoding it cannot fail.
		return nil, fmt.Errorf("%s: encoding the template: %w", OpRegisterTemplate, err)
	}
	return t, nil
}

// Step returns a copy of the normalized step called name, and whether the
// template has one.
func (t *Template) Step(name string) (taskertype.StepSpec, bool) {
	i, ok := t.index[name]
	if !ok {
		return taskertype.StepSpec{}, false
	}
	return cloneStep(t.Spec.Steps[i]), true
}

// HasContextSchema reports whether the template constrains task contexts
// with a JSON Schema.
func (t *Template) HasContextSchema() bool { return t.schema != nil }
