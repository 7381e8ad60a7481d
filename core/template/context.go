package template

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-json"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/tasker-systems/tasker-core-go/core/jsondoc"
	"github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// schemaURL is the synthetic address a context schema is compiled under.
const schemaURL = "mem://tasker/context_schema.json"

var printer = message.NewPrinter(language.English)

// noLoader refuses every external reference: a context schema must be self
// contained, and compiling one never reads a file or the network. The drafts'
// metaschemas are built into the compiler and still resolve.
type noLoader struct{}

func (noLoader) Load(string) (any, error) {
	return nil, errors.New("external references are not allowed")
}

// compileSchema compiles a decoded JSON Schema and returns the problems with
// it, messages for the field context_schema.
func compileSchema(doc any) (*jsonschema.Schema, []string) {
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	c.AssertFormat()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, []string{fmt.Sprintf("context_schema is not a valid JSON Schema: %v", err)}
	}
	sch, err := c.Compile(schemaURL)
	if err == nil {
		if problem := schemaCostProblem(sch); problem != "" {
			return nil, []string{problem}
		}
		return sch, nil
	}

	var (
		invalid *jsonschema.SchemaValidationError
		load    *jsonschema.LoadURLError
		verr    *jsonschema.ValidationError
	)
	switch {
	case errors.As(err, &invalid) && errors.As(invalid.Err, &verr):
		var problems []string
		for _, leaf := range leafErrors(verr) {
			problems = append(problems, fmt.Sprintf("context_schema is not a valid JSON Schema: at %s: %s",
				schemaLocation(leaf.InstanceLocation), leaf.ErrorKind.LocalizedString(printer)))
		}
		return nil, dedupe(problems)
	case errors.As(err, &load):
		return nil, []string{fmt.Sprintf(`context_schema refers to %q, which cannot be loaded: only references within the schema itself are allowed (put shared definitions under "$defs")`, load.URL)}
	default:
		return nil, []string{fmt.Sprintf("context_schema is not a valid JSON Schema: %v", err)}
	}
}

// schemaLocation quotes a location in the schema document as a JSON pointer.
func schemaLocation(tokens []string) string {
	if len(tokens) == 0 {
		return "the root"
	}
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return strconv.Quote(b.String())
}

// ValidateContext checks that ctx, a task's context, is a JSON object that
// satisfies the template's context schema if it has one. On failure it
// returns a *taskertype.ValidationError (Op "initialize_task") with one
// problem per failing location, its Field a path such as
// "context.items[0].sku" ("context" for the context as a whole). A missing
// required property is reported at the property's own path, such as
// "context.customer_id".
func (t *Template) ValidateContext(ctx json.RawMessage) error {
	const op = OpInitializeTask
	if isAbsent(ctx) {
		return taskertype.NewValidationError(op, "context", "context is required: pass a JSON object such as {}")
	}
	if depth, _ := jsondoc.Measure(ctx); depth > MaxJSONDepth {
		return taskertype.NewValidationError(op, "context", "context must nest arrays and objects at most %d levels deep, got %d", MaxJSONDepth, depth)
	}
	v, err := jsondoc.Decode(ctx)
	var dup *jsondoc.DuplicateKeyError
	switch {
	case errors.As(err, &dup):
		return taskertype.NewValidationError(op, "context"+strings.TrimPrefix(dup.Path, "$"),
			"has the key %q more than once (say which value you mean)", dup.Key)
	case err != nil:
		return taskertype.NewValidationError(op, "context", "context is not valid JSON: %v", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return taskertype.NewValidationError(op, "context", "context must be a JSON object, got %s", jsonKind(v))
	}

	problems := findNUL(v)
	if t.schema != nil {
		err := t.schema.Validate(v)
		var verr *jsonschema.ValidationError
		switch {
		case err == nil:
		case errors.As(err, &verr):
			for _, leaf := range leafErrors(verr) {
				problems = append(problems, contextProblems(v, leaf)...)
			}
		default:
			problems = append(problems, taskertype.FieldError{Field: "context", Problem: err.Error()})
		}
	}
	if len(problems) == 0 {
		return nil
	}
	slices.SortStableFunc(problems, func(a, b taskertype.FieldError) int {
		if c := strings.Compare(a.Field, b.Field); c != 0 {
			return c
		}
		return strings.Compare(a.Problem, b.Problem)
	})
	problems = slices.Compact(problems)
	return &taskertype.ValidationError{Op: op, Problems: problems}
}

// contextProblems turns one leaf validation error into problems. Errors about
// named properties of an object (required, dependentRequired,
// additionalProperties) become one problem per property, at its own path.
func contextProblems(doc any, leaf *jsonschema.ValidationError) []taskertype.FieldError {
	at := instancePath(doc, leaf.InstanceLocation)
	var out []taskertype.FieldError
	add := func(field, format string, args ...any) {
		out = append(out, taskertype.FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	switch k := leaf.ErrorKind.(type) {
	case *kind.Required:
		for _, p := range k.Missing {
			add(at+pathKey(p), "missing required property %q", p)
		}
	case *kind.DependentRequired:
		for _, p := range k.Missing {
			add(at+pathKey(p), "missing property %q, required when %q is present", p, k.Prop)
		}
	case *kind.Dependency:
		for _, p := range k.Missing {
			add(at+pathKey(p), "missing property %q, required when %q is present", p, k.Prop)
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			add(at+pathKey(p), "property %q is not allowed", p)
		}
	default:
		add(at, "%s", leaf.ErrorKind.LocalizedString(printer))
	}
	return out
}

// leafErrors returns the errors of a validation error tree that have no
// causes: the specific failures, without the generic wrappers above them.
func leafErrors(root *jsonschema.ValidationError) []*jsonschema.ValidationError {
	var leaves []*jsonschema.ValidationError
	stack := []*jsonschema.ValidationError{root}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if len(e.Causes) == 0 {
			leaves = append(leaves, e)
			continue
		}
		for i := len(e.Causes) - 1; i >= 0; i-- {
			stack = append(stack, e.Causes[i])
		}
	}
	return leaves
}

// instancePath turns a location in doc, as JSON pointer tokens, into a path
// such as "context.items[0].sku". It walks doc to tell array indexes from
// object keys that look like numbers.
func instancePath(doc any, tokens []string) string {
	var b strings.Builder
	b.WriteString("context")
	cur := doc
	for _, tok := range tokens {
		switch v := cur.(type) {
		case []any:
			b.WriteString("[" + tok + "]")
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(v) {
				cur = v[i]
			} else {
				cur = nil
			}
		case map[string]any:
			b.WriteString(pathKey(tok))
			cur = v[tok]
		default:
			b.WriteString(pathKey(tok))
			cur = nil
		}
	}
	return b.String()
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// pathKey renders an object key as a path element: .key for a plain
// identifier, ["some key"] otherwise.
func pathKey(key string) string {
	if identRE.MatchString(key) {
		return "." + key
	}
	return "[" + strconv.Quote(key) + "]"
}

const maxNULReports = 100

// findNUL reports every string or key of doc holding a NUL character, which
// PostgreSQL's jsonb cannot store, up to maxNULReports of them. Paths are
// only built for what it reports.
func findNUL(doc any) []taskertype.FieldError {
	const problem = `must not contain the escape \u0000, which PostgreSQL's jsonb cannot store`
	var (
		problems []taskertype.FieldError
		tokens   []string
		walk     func(v any)
	)
	walk = func(v any) {
		if len(problems) >= maxNULReports {
			return
		}
		switch v := v.(type) {
		case string:
			if strings.IndexByte(v, 0) >= 0 {
				problems = append(problems, taskertype.FieldError{Field: instancePath(doc, tokens), Problem: "string " + problem})
			}
		case []any:
			for i, e := range v {
				tokens = append(tokens, strconv.Itoa(i))
				walk(e)
				tokens = tokens[:len(tokens)-1]
			}
		case map[string]any:
			for k, e := range v {
				tokens = append(tokens, k)
				if strings.IndexByte(k, 0) >= 0 {
					problems = append(problems, taskertype.FieldError{Field: instancePath(doc, tokens), Problem: "key " + problem})
				}
				walk(e)
				tokens = tokens[:len(tokens)-1]
			}
		}
	}
	if hasNUL(doc) {
		walk(doc)
	}
	return problems
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
