package template

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tasker-systems/tasker-core-go/core/taskertype"

	"github.com/tasker-systems/tasker-core-go/core/jsondoc"
)

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	// versionRE is MAJOR.MINOR.PATCH without leading zeros, with an optional
	// dot-separated -prerelease.
	versionRE = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)
)

const nameCharset = `must start with a letter or digit and contain only letters, digits, "_", "." and "-"`

// checker validates one spec, collecting every problem, and keeps what it
// decoded along the way for building the Template.
type checker struct {
	spec     *taskertype.TemplateSpec
	problems []taskertype.FieldError

	first          map[string]int // step name -> index of its first declaration
	handlerConfigs []any          // decoded handler_config per step, nil when unset
	contextSchema  any            // decoded context_schema
	hasSchema      bool
	schema         *jsonschema.Schema
	graph          [][]int // step index -> indexes of the steps that depend on it
}

func newChecker(spec *taskertype.TemplateSpec) *checker {
	return &checker{spec: spec}
}

func (c *checker) addf(field, format string, args ...any) {
	c.problems = append(c.problems, taskertype.FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (c *checker) check() {
	s := c.spec
	c.checkName("namespace", "namespace", s.Namespace, MaxNameLength)
	c.checkName("name", "name", s.Name, MaxNameLength)
	c.checkVersion(s.Version)
	c.checkDescription("description", s.Description)
	if s.IdentityStrategy != "" && !s.IdentityStrategy.Valid() {
		c.addf("identity_strategy", "identity_strategy must be one of %s, %s, %s, got %q",
			taskertype.IdentityStrict, taskertype.IdentityCallerProvided, taskertype.IdentityAlwaysUnique, s.IdentityStrategy)
	}
	c.checkContextSchema()
	c.checkSteps()
}

// checkName checks a namespace, template name or step name.
func (c *checker) checkName(field, label, value string, maxLen int) {
	switch n := utf8.RuneCountInString(value); {
	case value == "":
		c.addf(field, "%s is required", label)
	case n > maxLen:
		c.addf(field, "%s must be at most %d characters, got %d", label, maxLen, n)
	case !nameRE.MatchString(value):
		c.addf(field, "%s %s, got %q", label, nameCharset, value)
	}
}

func (c *checker) checkVersion(v string) {
	switch n := utf8.RuneCountInString(v); {
	case v == "":
		c.addf("version", "version is required")
	case n > MaxNameLength:
		c.addf("version", "version must be at most %d characters, got %d", MaxNameLength, n)
	case !versionRE.MatchString(v):
		c.addf("version", "version must be a semantic version like 1.0.0, got %q", v)
	}
}

// checkDescription checks a free-text description: PostgreSQL's varchar(255)
// holds neither invalid UTF-8 nor NUL.
func (c *checker) checkDescription(field, d string) {
	switch {
	case !utf8.ValidString(d) || strings.IndexByte(d, 0) >= 0:
		c.addf(field, "description must be valid UTF-8 without NUL characters")
	case utf8.RuneCountInString(d) > MaxDescriptionLength:
		c.addf(field, "description must be at most %d characters, got %d", MaxDescriptionLength, utf8.RuneCountInString(d))
	}
}

func (c *checker) checkHandler(field, h string) {
	switch n := utf8.RuneCountInString(h); {
	case h == "":
		c.addf(field, "handler is required")
	case n > MaxHandlerLength:
		c.addf(field, "handler must be at most %d characters, got %d", MaxHandlerLength, n)
	case !utf8.ValidString(h) || strings.IndexFunc(h, unicode.IsControl) >= 0:
		c.addf(field, "handler must be valid UTF-8 without control characters, got %q", h)
	}
}

func (c *checker) checkContextSchema() {
	v, present, problem := decodeJSONValue("context_schema", c.spec.ContextSchema, MaxSchemaDepth)
	if problem != "" {
		c.addf("context_schema", "%s", problem)
		return
	}
	if !present {
		return
	}
	// The schema compiler's time grows with the square of the number of
	// subschemas, so a schema is kept to a size that compiles in well under
	// a second.
	if _, n := jsondoc.Measure(c.spec.ContextSchema); n > MaxSchemaContainers {
		c.addf("context_schema", "context_schema must have at most %d objects and arrays, got %d", MaxSchemaContainers, n)
		return
	}
	sch, problems := compileSchema(v)
	for _, p := range problems {
		c.addf("context_schema", "%s", p)
	}
	if len(problems) == 0 {
		c.contextSchema, c.hasSchema, c.schema = v, true, sch
	}
}

func (c *checker) checkSteps() {
	steps := c.spec.Steps
	switch {
	case len(steps) == 0:
		c.addf("steps", "template has no steps")
		return
	case len(steps) > MaxSteps:
		c.addf("steps", "template has %d steps, at most %d are allowed", len(steps), MaxSteps)
	}

	c.first = make(map[string]int, len(steps))
	dupOf := make([]int, len(steps))
	for i, st := range steps {
		dupOf[i] = -1
		if st.Name == "" {
			continue
		}
		if j, ok := c.first[st.Name]; ok {
			dupOf[i] = j
		} else {
			c.first[st.Name] = i
		}
	}

	c.handlerConfigs = make([]any, len(steps))
	c.graph = make([][]int, len(steps))
	for i, st := range steps {
		prefix := fmt.Sprintf("steps[%d]", i)
		before := len(c.problems)
		c.checkName(prefix+".name", "step name", st.Name, MaxStepNameLength)
		if len(c.problems) == before && dupOf[i] >= 0 {
			c.addf(prefix+".name", "duplicate step name %q (also steps[%d])", st.Name, dupOf[i])
		}
		c.checkDescription(prefix+".description", st.Description)
		c.checkHandler(prefix+".handler", st.Handler)

		cfg, present, problem := decodeJSONValue("handler_config", st.HandlerConfig, MaxJSONDepth)
		if problem == "" && present {
			if _, ok := cfg.(map[string]any); !ok {
				problem = fmt.Sprintf("handler_config must be a JSON object, got %s", jsonKind(cfg))
			}
		}
		if problem != "" {
			c.addf(prefix+".handler_config", "%s", problem)
		} else {
			c.handlerConfigs[i] = cfg
		}

		if st.RetryLimit != nil {
			switch n := *st.RetryLimit; {
			case n < 0:
				c.addf(prefix+".retry_limit", "retry_limit must be >= 0, got %d", n)
			case n > MaxRetryLimit:
				c.addf(prefix+".retry_limit", "retry_limit must be <= %d, got %d", MaxRetryLimit, n)
			}
		}

		if st.TimeoutSeconds != nil {
			if n := *st.TimeoutSeconds; n < 1 || n > MaxTimeoutSeconds {
				c.addf(prefix+".timeout_seconds", "timeout_seconds must be within 1..%d, got %d", MaxTimeoutSeconds, n)
			}
		}

		c.checkDependsOn(i, prefix)
	}

	c.checkCycles()
}

func (c *checker) checkDependsOn(i int, prefix string) {
	st := c.spec.Steps[i]
	// Only a step's first declaration is a node of the graph; a duplicate is
	// already an error.
	isNode := st.Name != "" && c.first[st.Name] == i
	seen := make(map[string]int, len(st.DependsOn))
	for k, d := range st.DependsOn {
		field := fmt.Sprintf("%s.depends_on[%d]", prefix, k)
		if prev, dup := seen[d]; dup {
			c.addf(field, "step %q lists dependency %q twice (also depends_on[%d])", st.Name, d, prev)
			continue
		}
		seen[d] = k
		parent, known := c.first[d]
		switch {
		case d == st.Name:
			c.addf(field, "step %q depends on itself", st.Name)
		case !known:
			c.addf(field, "step %q depends on unknown step %q", st.Name, d)
		case isNode:
			c.graph[parent] = append(c.graph[parent], i)
		}
	}
}

// checkCycles reports the cycles of the dependency graph, each as the path
// of steps in the order they would have to run: in "cycle: a -> b -> a", b
// depends on a and a on b.
func (c *checker) checkCycles() {
	var nodes []int
	for i, st := range c.spec.Steps {
		if st.Name != "" && c.first[st.Name] == i {
			nodes = append(nodes, i)
		}
	}
	cycles, more := findCycles(c.graph, nodes, maxCycleReports)
	for _, cyc := range cycles {
		names := make([]string, 0, len(cyc)+1)
		for _, i := range cyc {
			names = append(names, c.spec.Steps[i].Name)
		}
		names = append(names, names[0])
		c.addf("steps", "cycle: %s", strings.Join(names, " -> "))
	}
	if more {
		c.addf("steps", "the steps have more cycles; only the first %d are listed", maxCycleReports)
	}
}

// decodeJSONValue decodes an optional raw JSON value. Empty input and null
// count as absent. problem is set when the value is not usable JSON.
func decodeJSONValue(label string, raw []byte, maxDepth int) (v any, present bool, problem string) {
	if isAbsent(raw) {
		return nil, false, ""
	}
	if depth, _ := jsondoc.Measure(raw); depth > maxDepth {
		return nil, false, fmt.Sprintf("%s must nest arrays and objects at most %d levels deep, got %d", label, maxDepth, depth)
	}
	v, err := jsondoc.Decode(raw)
	if err != nil {
		return nil, false, fmt.Sprintf("%s is not valid JSON: %v", label, err)
	}
	if hasNUL(v) {
		return nil, false, fmt.Sprintf(`%s must not contain the escape \u0000, which PostgreSQL's jsonb cannot store`, label)
	}
	return v, true, ""
}
