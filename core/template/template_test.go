package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertype"
)

func ptr[T any](v T) *T { return &v }

func step(name string, deps ...string) taskertype.StepSpec {
	return taskertype.StepSpec{Name: name, Handler: "Handlers::" + name, DependsOn: deps}
}

// diamond is a valid template: a, then b and c, then d.
func diamond() *taskertype.TemplateSpec {
	return &taskertype.TemplateSpec{
		Namespace: "fulfillment",
		Name:      "process_order",
		Version:   "1.0.0",
		Steps: []taskertype.StepSpec{
			step("a"),
			step("b", "a"),
			step("c", "a"),
			step("d", "b", "c"),
		},
	}
}

// problemsOf asserts that err is a register_template validation error and
// returns its problems.
func problemsOf(t *testing.T, err error) []taskertype.FieldError {
	t.Helper()
	var verr *taskertype.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Equal(t, OpRegisterTemplate, verr.Op)
	require.Equal(t, taskertype.CodeValidation, taskertype.CodeOf(err))
	require.NotEmpty(t, verr.Problems)
	return verr.Problems
}

func compileErr(t *testing.T, spec *taskertype.TemplateSpec) []taskertype.FieldError {
	t.Helper()
	tmpl, err := Compile(spec)
	require.Nil(t, tmpl)
	return problemsOf(t, err)
}

func mustCompile(t *testing.T, spec *taskertype.TemplateSpec) *Template {
	t.Helper()
	tmpl, err := Compile(spec)
	require.NoError(t, err)
	return tmpl
}

func TestCompileRejectsEachProblemWithItsMessage(t *testing.T) {
	t.Parallel()

	deep := func(n int) json.RawMessage {
		return json.RawMessage(`{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`)
	}

	tests := []struct {
		name   string
		mutate func(s *taskertype.TemplateSpec)
		field  string
		want   string
	}{
		{"namespace missing", func(s *taskertype.TemplateSpec) { s.Namespace = "" },
			"namespace", "namespace is required"},
		{"namespace too long", func(s *taskertype.TemplateSpec) { s.Namespace = strings.Repeat("n", 65) },
			"namespace", "namespace must be at most 64 characters, got 65"},
		{"namespace charset", func(s *taskertype.TemplateSpec) { s.Namespace = "bad ns" },
			"namespace", `namespace must start with a letter or digit and contain only letters, digits, "_", "." and "-", got "bad ns"`},
		{"namespace leading dash", func(s *taskertype.TemplateSpec) { s.Namespace = "-ns" },
			"namespace", `namespace must start with a letter or digit and contain only letters, digits, "_", "." and "-", got "-ns"`},
		{"name missing", func(s *taskertype.TemplateSpec) { s.Name = "" },
			"name", "name is required"},
		{"name too long", func(s *taskertype.TemplateSpec) { s.Name = strings.Repeat("x", 100) },
			"name", "name must be at most 64 characters, got 100"},
		{"name charset", func(s *taskertype.TemplateSpec) { s.Name = "process/order" },
			"name", `name must start with a letter or digit and contain only letters, digits, "_", "." and "-", got "process/order"`},
		{"version missing", func(s *taskertype.TemplateSpec) { s.Version = "" },
			"version", "version is required"},
		{"version not semver", func(s *taskertype.TemplateSpec) { s.Version = "abc" },
			"version", `version must be a semantic version like 1.0.0, got "abc"`},
		{"version two parts", func(s *taskertype.TemplateSpec) { s.Version = "1.0" },
			"version", `version must be a semantic version like 1.0.0, got "1.0"`},
		{"version leading zero", func(s *taskertype.TemplateSpec) { s.Version = "01.0.0" },
			"version", `version must be a semantic version like 1.0.0, got "01.0.0"`},
		{"version empty prerelease", func(s *taskertype.TemplateSpec) { s.Version = "1.0.0-" },
			"version", `version must be a semantic version like 1.0.0, got "1.0.0-"`},
		{"version too long", func(s *taskertype.TemplateSpec) { s.Version = "1.0.0-" + strings.Repeat("a", 59) },
			"version", "version must be at most 64 characters, got 65"},
		{"description too long", func(s *taskertype.TemplateSpec) { s.Description = strings.Repeat("é", 256) },
			"description", "description must be at most 255 characters, got 256"},
		{"description with NUL", func(s *taskertype.TemplateSpec) { s.Description = "a\x00b" },
			"description", "description must be valid UTF-8 without NUL characters"},
		{"identity strategy", func(s *taskertype.TemplateSpec) { s.IdentityStrategy = "sometimes" },
			"identity_strategy", `identity_strategy must be one of strict, caller_provided, always_unique, got "sometimes"`},
		{"no steps", func(s *taskertype.TemplateSpec) { s.Steps = nil },
			"steps", "template has no steps"},
		{"too many steps", func(s *taskertype.TemplateSpec) {
			s.Steps = make([]taskertype.StepSpec, MaxSteps+1)
			for i := range s.Steps {
				s.Steps[i] = step(fmt.Sprintf("s%d", i))
			}
		}, "steps", "template has 10001 steps, at most 10000 are allowed"},
		{"step name missing", func(s *taskertype.TemplateSpec) { s.Steps[3].Name = "" },
			"steps[3].name", "step name is required"},
		{"step name too long", func(s *taskertype.TemplateSpec) { s.Steps[3].Name = strings.Repeat("d", 129) },
			"steps[3].name", "step name must be at most 128 characters, got 129"},
		{"step name charset", func(s *taskertype.TemplateSpec) { s.Steps[3].Name = "d!" },
			"steps[3].name", `step name must start with a letter or digit and contain only letters, digits, "_", "." and "-", got "d!"`},
		{"duplicate step name", func(s *taskertype.TemplateSpec) { s.Steps = append(s.Steps, step("b", "a")) },
			"steps[4].name", `duplicate step name "b" (also steps[1])`},
		{"step description too long", func(s *taskertype.TemplateSpec) { s.Steps[1].Description = strings.Repeat("x", 300) },
			"steps[1].description", "description must be at most 255 characters, got 300"},
		{"handler missing", func(s *taskertype.TemplateSpec) { s.Steps[1].Handler = "" },
			"steps[1].handler", "handler is required"},
		{"handler too long", func(s *taskertype.TemplateSpec) { s.Steps[1].Handler = strings.Repeat("H", 256) },
			"steps[1].handler", "handler must be at most 255 characters, got 256"},
		{"handler control character", func(s *taskertype.TemplateSpec) { s.Steps[1].Handler = "Foo\nBar" },
			"steps[1].handler", `handler must be valid UTF-8 without control characters, got "Foo\nBar"`},
		{"handler_config array", func(s *taskertype.TemplateSpec) { s.Steps[0].HandlerConfig = json.RawMessage(`[1, 2]`) },
			"steps[0].handler_config", "handler_config must be a JSON object, got array"},
		{"handler_config string", func(s *taskertype.TemplateSpec) { s.Steps[0].HandlerConfig = json.RawMessage(`"x"`) },
			"steps[0].handler_config", "handler_config must be a JSON object, got string"},
		{"handler_config invalid JSON", func(s *taskertype.TemplateSpec) { s.Steps[0].HandlerConfig = json.RawMessage(`{"a":}`) },
			"steps[0].handler_config", "handler_config is not valid JSON: invalid character '}' looking for beginning of value"},
		{"handler_config trailing data", func(s *taskertype.TemplateSpec) { s.Steps[0].HandlerConfig = json.RawMessage(`{} {}`) },
			"steps[0].handler_config", "handler_config is not valid JSON: unexpected data after the top-level value"},
		{"handler_config too deep", func(s *taskertype.TemplateSpec) { s.Steps[0].HandlerConfig = deep(MaxJSONDepth + 1) },
			"steps[0].handler_config", "handler_config must nest arrays and objects at most 10000 levels deep, got 10001"},
		{"handler_config NUL", func(s *taskertype.TemplateSpec) { s.Steps[0].HandlerConfig = json.RawMessage(`{"a":["x\u0000"]}`) },
			"steps[0].handler_config", `handler_config must not contain the escape \u0000, which PostgreSQL's jsonb cannot store`},
		{"retry_limit negative", func(s *taskertype.TemplateSpec) { s.Steps[2].RetryLimit = ptr(-1) },
			"steps[2].retry_limit", "retry_limit must be >= 0, got -1"},
		{"retry_limit too high", func(s *taskertype.TemplateSpec) { s.Steps[2].RetryLimit = ptr(1001) },
			"steps[2].retry_limit", "retry_limit must be <= 1000, got 1001"},
		{"unknown dependency", func(s *taskertype.TemplateSpec) {
			s.Steps = append(s.Steps, step("ship_order", "d", "pack_order"))
		}, "steps[4].depends_on[1]", `step "ship_order" depends on unknown step "pack_order"`},
		{"empty dependency", func(s *taskertype.TemplateSpec) { s.Steps[1].DependsOn = []string{""} },
			"steps[1].depends_on[0]", `step "b" depends on unknown step ""`},
		{"self dependency", func(s *taskertype.TemplateSpec) { s.Steps[0].DependsOn = []string{"a"} },
			"steps[0].depends_on[0]", `step "a" depends on itself`},
		{"dependency listed twice", func(s *taskertype.TemplateSpec) { s.Steps[3].DependsOn = []string{"b", "c", "b"} },
			"steps[3].depends_on[2]", `step "d" lists dependency "b" twice (also depends_on[0])`},
		{"two-step cycle", func(s *taskertype.TemplateSpec) { s.Steps[0].DependsOn = []string{"b"} },
			"steps", "cycle: a -> b -> a"},
		{"context_schema invalid JSON", func(s *taskertype.TemplateSpec) { s.ContextSchema = json.RawMessage(`{"type":`) },
			"context_schema", "context_schema is not valid JSON: unexpected EOF"},
		{"context_schema remote ref", func(s *taskertype.TemplateSpec) {
			s.ContextSchema = json.RawMessage(`{"$ref": "https://example.com/order.json"}`)
		}, "context_schema", `context_schema refers to "https://example.com/order.json", which cannot be loaded: only references within the schema itself are allowed (put shared definitions under "$defs")`},
		{"context_schema file ref", func(s *taskertype.TemplateSpec) {
			s.ContextSchema = json.RawMessage(`{"properties": {"a": {"$ref": "file:///etc/passwd"}}}`)
		}, "context_schema", `context_schema refers to "file:///etc/passwd", which cannot be loaded: only references within the schema itself are allowed (put shared definitions under "$defs")`},
		{"context_schema not a schema", func(s *taskertype.TemplateSpec) { s.ContextSchema = json.RawMessage(`"abc"`) },
			"context_schema", "context_schema is not a valid JSON Schema: at the root: got string, want boolean or object"},
		{"context_schema too deep", func(s *taskertype.TemplateSpec) {
			s.ContextSchema = json.RawMessage(strings.Repeat(`{"items":`, 64) + `{}` + strings.Repeat(`}`, 64))
		}, "context_schema", "context_schema must nest arrays and objects at most 64 levels deep, got 65"},
		{"context_schema too big", func(s *taskertype.TemplateSpec) {
			var props strings.Builder
			for i := range 5000 {
				fmt.Fprintf(&props, `, "b%d": {}`, i)
			}
			s.ContextSchema = json.RawMessage(`{"properties": {"a": {}` + props.String() + `}}`)
		}, "context_schema", "context_schema must have at most 5000 objects and arrays, got 5003"},
		{"context_schema exponential", func(s *taskertype.TemplateSpec) { s.ContextSchema = refBomb(40) },
			"context_schema", "context_schema is too costly to check: a value would be checked against subschemas more than 10000 times, because they apply each other (allOf, anyOf, oneOf, $ref) at many levels; simplify it"},
		{"context_schema exponential in depth", func(s *taskertype.TemplateSpec) {
			s.ContextSchema = json.RawMessage(`{"$defs": {"d": {"allOf": [{"properties": {"x": {"$ref": "#/$defs/d"}}}, {"properties": {"x": {"$ref": "#/$defs/d"}}}]}}, "$ref": "#/$defs/d"}`)
		}, "context_schema", "context_schema is too costly to check: a value would be checked against subschemas more than 10000 times, because they apply each other (allOf, anyOf, oneOf, $ref) at many levels; simplify it"},
		{"context_schema bad pattern", func(s *taskertype.TemplateSpec) {
			s.ContextSchema = json.RawMessage(`{"properties": {"sku": {"type": "string", "pattern": "("}}}`)
		}, "context_schema", "context_schema is not a valid JSON Schema: at \"/properties/sku/pattern\": '(' is not valid regex: error parsing regexp: missing closing ): `(`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := diamond()
			tt.mutate(spec)
			got := compileErr(t, spec)
			require.Equal(t, []taskertype.FieldError{{Field: tt.field, Problem: tt.want}}, got)
		})
	}
}

// refBomb is a schema of n definitions, each applying the next one twice:
// checking a value against it evaluates 2^n subschemas.
func refBomb(n int) json.RawMessage {
	var b strings.Builder
	b.WriteString(`{"$defs": {`)
	for i := range n {
		fmt.Fprintf(&b, `"d%d": {"allOf": [{"$ref": "#/$defs/d%d"}, {"$ref": "#/$defs/d%d"}]}, `, i, i+1, i+1)
	}
	fmt.Fprintf(&b, `"d%d": {"type": "object"}}, "$ref": "#/$defs/d0"}`, n)
	return json.RawMessage(b.String())
}

func TestCompileAcceptsReasonableSchemas(t *testing.T) {
	t.Parallel()
	schemas := map[string]string{
		"small reference fan-out": string(refBomb(10)),
		"recursive tree": `{"$defs": {"node": {"type": "object", "required": ["name"], "properties": {
			"name": {"type": "string"}, "left": {"$ref": "#/$defs/node"}, "right": {"$ref": "#/$defs/node"},
			"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}}, "$ref": "#/$defs/node"}`,
		"recursive tuple":    `{"$defs": {"t": {"type": "array", "prefixItems": [{"$ref": "#/$defs/t"}, {"$ref": "#/$defs/t"}]}}, "$ref": "#/$defs/t"}`,
		"patterns recursing": `{"$defs": {"a": {"additionalProperties": {"$ref": "#/$defs/a"}, "patternProperties": {"^x": {"$ref": "#/$defs/a"}}}}, "$ref": "#/$defs/a"}`,
		"dynamic reference":  `{"$dynamicAnchor": "node", "type": "object", "properties": {"children": {"type": "array", "items": {"$dynamicRef": "#node"}}}}`,
		"draft-07":           `{"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/s"}}}`,
	}
	for name, schema := range schemas {
		spec := diamond()
		spec.ContextSchema = json.RawMessage(schema)
		_, err := Compile(spec)
		require.NoError(t, err, name)
	}

	spec := diamond()
	spec.ContextSchema = json.RawMessage(schemas["recursive tree"])
	tmpl := mustCompile(t, spec)
	require.NoError(t, tmpl.ValidateContext(json.RawMessage(`{"name": "r", "left": {"name": "l"}, "children": [{"name": "c0"}]}`)))
	err := tmpl.ValidateContext(json.RawMessage(`{"name": "r", "left": {"right": {"name": 1}}, "children": [{"name": "c0"}, {}]}`))
	require.Equal(t, []taskertype.FieldError{
		{Field: "context.children[1].name", Problem: `missing required property "name"`},
		{Field: "context.left.name", Problem: `missing required property "name"`},
		{Field: "context.left.right.name", Problem: "got number, want string"},
	}, contextProblemsOf(t, err))
}

func TestCompileInvalidContextSchemaListsEachLeafProblem(t *testing.T) {
	t.Parallel()
	spec := diamond()
	spec.ContextSchema = json.RawMessage(`{"type": 5}`)
	require.Equal(t, []taskertype.FieldError{
		{Field: "context_schema", Problem: `context_schema is not a valid JSON Schema: at "/type": value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'`},
		{Field: "context_schema", Problem: `context_schema is not a valid JSON Schema: at "/type": got number, want array`},
	}, compileErr(t, spec))
}

func TestCompileAcceptsEdgeValues(t *testing.T) {
	t.Parallel()
	spec := diamond()
	spec.Namespace = strings.Repeat("n", 64)
	spec.Name = "Process.Order-v2_x"
	spec.Version = "2.1.0-beta.1"
	spec.IdentityStrategy = taskertype.IdentityCallerProvided
	spec.Steps[0].Name = strings.Repeat("a", 128)
	spec.Steps[1].DependsOn = []string{spec.Steps[0].Name}
	spec.Steps[2].DependsOn = []string{spec.Steps[0].Name}
	spec.Steps[0].Handler = strings.Repeat("H", 255)
	spec.Steps[0].RetryLimit = ptr(0)
	spec.Steps[1].RetryLimit = ptr(1000)
	spec.Steps[1].HandlerConfig = json.RawMessage(`null`)
	spec.Steps[2].HandlerConfig = json.RawMessage(`{"a":` + strings.Repeat("[", MaxJSONDepth-1) + strings.Repeat("]", MaxJSONDepth-1) + `}`)
	spec.ContextSchema = json.RawMessage(`true`)
	tmpl := mustCompile(t, spec)
	require.Equal(t, taskertype.IdentityCallerProvided, tmpl.Spec.IdentityStrategy)
	require.JSONEq(t, `{}`, string(tmpl.Spec.Steps[1].HandlerConfig))
	require.True(t, tmpl.HasContextSchema())
}

func TestCompileReportsEveryProblemTogether(t *testing.T) {
	t.Parallel()
	spec := &taskertype.TemplateSpec{
		Namespace:        "",
		Name:             "order",
		Version:          "v1",
		IdentityStrategy: "nope",
		Steps: []taskertype.StepSpec{
			{Name: "a", Handler: "A", RetryLimit: ptr(-1)},
			{Name: "b", Handler: "", DependsOn: []string{"a", "missing"}, HandlerConfig: json.RawMessage(`[]`)},
			{Name: "a", Handler: "A2"},
			{Name: "c", Handler: "C", DependsOn: []string{"d"}},
			{Name: "d", Handler: "D", DependsOn: []string{"c", "d"}},
		},
	}
	require.Equal(t, []taskertype.FieldError{
		{Field: "namespace", Problem: "namespace is required"},
		{Field: "version", Problem: `version must be a semantic version like 1.0.0, got "v1"`},
		{Field: "identity_strategy", Problem: `identity_strategy must be one of strict, caller_provided, always_unique, got "nope"`},
		{Field: "steps[0].retry_limit", Problem: "retry_limit must be >= 0, got -1"},
		{Field: "steps[1].handler", Problem: "handler is required"},
		{Field: "steps[1].handler_config", Problem: "handler_config must be a JSON object, got array"},
		{Field: "steps[1].depends_on[1]", Problem: `step "b" depends on unknown step "missing"`},
		{Field: "steps[2].name", Problem: `duplicate step name "a" (also steps[0])`},
		{Field: "steps[4].depends_on[1]", Problem: `step "d" depends on itself`},
		{Field: "steps", Problem: "cycle: c -> d -> c"},
	}, compileErr(t, spec))

	err := func() error { _, err := Compile(spec); return err }()
	require.ErrorContains(t, err, `register_template: namespace: namespace is required; version: `)
}

func TestCompileNamesCyclePaths(t *testing.T) {
	t.Parallel()

	t.Run("three steps", func(t *testing.T) {
		t.Parallel()
		spec := diamond()
		// a depends on c, b on a, c on b.
		spec.Steps = []taskertype.StepSpec{step("a", "c"), step("b", "a"), step("c", "b"), step("d", "c")}
		require.Equal(t, []taskertype.FieldError{{Field: "steps", Problem: "cycle: a -> b -> c -> a"}}, compileErr(t, spec))
	})

	t.Run("two distinct cycles", func(t *testing.T) {
		t.Parallel()
		spec := diamond()
		spec.Steps = []taskertype.StepSpec{
			step("root"),
			step("x", "root", "y"), step("y", "x"),
			step("p", "r"), step("q", "p"), step("r", "q"),
		}
		require.Equal(t, []taskertype.FieldError{
			{Field: "steps", Problem: "cycle: x -> y -> x"},
			{Field: "steps", Problem: "cycle: p -> q -> r -> p"},
		}, compileErr(t, spec))
	})

	t.Run("many cycles are capped", func(t *testing.T) {
		t.Parallel()
		// A chain s0 <- s1 <- ... <- s(n-1), where s0 also depends on every
		// other step: n-1 overlapping cycles.
		const n = 2000
		spec := diamond()
		spec.Steps = make([]taskertype.StepSpec, n)
		for i := range n {
			spec.Steps[i] = step(fmt.Sprintf("s%d", i))
			if i > 0 {
				spec.Steps[i].DependsOn = []string{fmt.Sprintf("s%d", i-1)}
				spec.Steps[0].DependsOn = append(spec.Steps[0].DependsOn, fmt.Sprintf("s%d", i))
			}
		}
		start := time.Now()
		problems := compileErr(t, spec)
		require.Less(t, time.Since(start), 5*time.Second)
		require.LessOrEqual(t, len(problems), maxCycleReports+1)
		for _, p := range problems {
			require.Equal(t, "steps", p.Field)
			require.True(t, strings.HasPrefix(p.Problem, "cycle: s0 -> s1 -> ") || strings.HasPrefix(p.Problem, "the steps have more cycles"), p.Problem)
		}
	})
}

func TestCompileDiamond(t *testing.T) {
	t.Parallel()
	spec := diamond()
	spec.Description = "ships an order"
	spec.Steps[2].Retryable = ptr(false)
	spec.Steps[2].RetryLimit = ptr(7)
	spec.Steps[3].HandlerConfig = json.RawMessage(`{ "b": 1, "a": {"y": [1, 2.50], "x": "<&>"} }`)
	spec.ContextSchema = json.RawMessage(`{"type": "object", "required": ["id"]}`)

	tmpl := mustCompile(t, spec)
	require.Equal(t, []string{"a", "b", "c", "d"}, tmpl.Order)
	require.Equal(t, map[string]int{"a": 0, "b": 1, "c": 1, "d": 2}, tmpl.Levels)
	require.Len(t, tmpl.ShapeHash, 64)

	require.Equal(t, taskertype.IdentityStrict, tmpl.Spec.IdentityStrategy)
	require.Equal(t, "ships an order", tmpl.Spec.Description)
	require.Equal(t, `{"required":["id"],"type":"object"}`, string(tmpl.Spec.ContextSchema))

	a, ok := tmpl.Step("a")
	require.True(t, ok)
	require.Equal(t, taskertype.StepSpec{
		Name: "a", Handler: "Handlers::a", HandlerConfig: json.RawMessage(`{}`),
		DependsOn: []string{}, Retryable: ptr(true), RetryLimit: ptr(taskertype.DefaultRetryLimit),
	}, a)
	c, ok := tmpl.Step("c")
	require.True(t, ok)
	require.False(t, *c.Retryable)
	require.Equal(t, 7, *c.RetryLimit)
	d, ok := tmpl.Step("d")
	require.True(t, ok)
	require.Equal(t, `{"a":{"x":"<&>","y":[1,2.50]},"b":1}`, string(d.HandlerConfig))
	require.Equal(t, []string{"b", "c"}, d.DependsOn)

	_, ok = tmpl.Step("nope")
	require.False(t, ok)

	// Neither the input nor a returned step shares memory with the template.
	require.Nil(t, spec.Steps[0].Retryable)
	require.Empty(t, spec.IdentityStrategy)
	spec.Steps[3].DependsOn[0] = "zzz"
	*a.RetryLimit = 99
	d.DependsOn[0] = "yyy"
	again, _ := tmpl.Step("d")
	require.Equal(t, []string{"b", "c"}, again.DependsOn)
	againA, _ := tmpl.Step("a")
	require.Equal(t, taskertype.DefaultRetryLimit, *againA.RetryLimit)
}

func TestCompileOrderBreaksTiesByDeclaration(t *testing.T) {
	t.Parallel()
	spec := diamond()
	spec.Steps = []taskertype.StepSpec{
		step("z"), step("late", "y"), step("y"), step("x", "z"), step("w"),
	}
	tmpl := mustCompile(t, spec)
	require.Equal(t, []string{"z", "y", "late", "x", "w"}, tmpl.Order)
	require.Equal(t, map[string]int{"z": 0, "late": 1, "y": 0, "x": 1, "w": 0}, tmpl.Levels)
}

func TestShapeHash(t *testing.T) {
	t.Parallel()
	base := func() *taskertype.TemplateSpec {
		s := diamond()
		s.Steps[1].HandlerConfig = json.RawMessage(`{"url": "https://x/<a>", "retries": {"max": 3, "on": ["timeout", "5xx"]}}`)
		s.ContextSchema = json.RawMessage(`{"type": "object", "properties": {"id": {"type": "integer"}}}`)
		return s
	}
	hash := func(s *taskertype.TemplateSpec) string { return mustCompile(t, s).ShapeHash }
	want := hash(base())

	same := map[string]func(s *taskertype.TemplateSpec){
		"key order and whitespace in handler_config": func(s *taskertype.TemplateSpec) {
			s.Steps[1].HandlerConfig = json.RawMessage("{\n  \"retries\" : { \"on\":[\"timeout\",\"5xx\"],\"max\":3 },\n  \"url\":\"https://x/\\u003ca>\"\n}")
		},
		"key order in context_schema": func(s *taskertype.TemplateSpec) {
			s.ContextSchema = json.RawMessage(`{"properties":{"id":{"type":"integer"}},"type":"object"}`)
		},
		"explicit defaults": func(s *taskertype.TemplateSpec) {
			s.IdentityStrategy = taskertype.IdentityStrict
			s.Steps[0].Retryable = ptr(true)
			s.Steps[0].RetryLimit = ptr(taskertype.DefaultRetryLimit)
			s.Steps[0].HandlerConfig = json.RawMessage(` {} `)
			s.Steps[2].HandlerConfig = json.RawMessage(`null`)
		},
		"descriptions":        func(s *taskertype.TemplateSpec) { s.Description = "x"; s.Steps[0].Description = "y" },
		"order of depends_on": func(s *taskertype.TemplateSpec) { s.Steps[3].DependsOn = []string{"c", "b"} },
	}
	for name, mutate := range same {
		s := base()
		mutate(s)
		require.Equal(t, want, hash(s), name)
	}

	different := map[string]func(s *taskertype.TemplateSpec){
		"dependency added":       func(s *taskertype.TemplateSpec) { s.Steps[3].DependsOn = append(s.Steps[3].DependsOn, "a") },
		"retry_limit changed":    func(s *taskertype.TemplateSpec) { s.Steps[0].RetryLimit = ptr(4) },
		"retryable changed":      func(s *taskertype.TemplateSpec) { s.Steps[0].Retryable = ptr(false) },
		"handler changed":        func(s *taskertype.TemplateSpec) { s.Steps[0].Handler = "Other" },
		"handler_config changed": func(s *taskertype.TemplateSpec) { s.Steps[1].HandlerConfig = json.RawMessage(`{"url": "https://y"}`) },
		"context_schema removed": func(s *taskertype.TemplateSpec) { s.ContextSchema = nil },
		"identity strategy":      func(s *taskertype.TemplateSpec) { s.IdentityStrategy = taskertype.IdentityAlwaysUnique },
		"version":                func(s *taskertype.TemplateSpec) { s.Version = "1.0.1" },
		"step added":             func(s *taskertype.TemplateSpec) { s.Steps = append(s.Steps, step("e", "d")) },
	}
	seen := map[string]string{want: "base"}
	for name, mutate := range different {
		s := base()
		mutate(s)
		h := hash(s)
		prev, dup := seen[h]
		require.False(t, dup, "%s hashes like %s", name, prev)
		seen[h] = name
	}
}

// orderSchema is a context schema with a required property, an array of
// objects and a property whose name is not an identifier.
const orderSchema = `{
	"type": "object",
	"required": ["customer_id", "items"],
	"properties": {
		"customer_id": {"type": "string", "minLength": 1},
		"email": {"type": "string", "format": "email"},
		"items": {
			"type": "array",
			"items": {
				"type": "object",
				"required": ["sku"],
				"properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}
			}
		},
		"gift-note": {"type": "string", "maxLength": 5},
		"shipping": {"type": "object", "additionalProperties": false, "properties": {"method": {"enum": ["ground", "air"]}}}
	}
}`

func contextProblemsOf(t *testing.T, err error) []taskertype.FieldError {
	t.Helper()
	var verr *taskertype.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Equal(t, OpInitializeTask, verr.Op)
	return verr.Problems
}

func TestValidateContext(t *testing.T) {
	t.Parallel()
	spec := diamond()
	spec.ContextSchema = json.RawMessage(orderSchema)
	tmpl := mustCompile(t, spec)

	t.Run("valid", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, tmpl.ValidateContext(json.RawMessage(`{"customer_id": "c1", "items": [{"sku": "A", "qty": 2}], "gift-note": "hi"}`)))
	})

	t.Run("names each failing location", func(t *testing.T) {
		t.Parallel()
		err := tmpl.ValidateContext(json.RawMessage(`{
			"items": [{"sku": 42}, {"qty": 0}],
			"email": "not-an-email",
			"gift-note": "too long",
			"shipping": {"method": "sea", "insured": true}
		}`))
		require.Equal(t, []taskertype.FieldError{
			{Field: "context.customer_id", Problem: `missing required property "customer_id"`},
			{Field: "context.email", Problem: "'not-an-email' is not valid email: missing @"},
			{Field: "context.items[0].sku", Problem: "got number, want string"},
			{Field: "context.items[1].qty", Problem: "minimum: got 0, want 1"},
			{Field: "context.items[1].sku", Problem: `missing required property "sku"`},
			{Field: "context.shipping.insured", Problem: `property "insured" is not allowed`},
			{Field: "context.shipping.method", Problem: "value must be one of 'ground', 'air'"},
			{Field: `context["gift-note"]`, Problem: "maxLength: got 8, want 5"},
		}, contextProblemsOf(t, err))
		require.Equal(t, taskertype.CodeValidation, taskertype.CodeOf(err))
	})

	t.Run("numeric keys of objects stay keys", func(t *testing.T) {
		t.Parallel()
		s := diamond()
		s.ContextSchema = json.RawMessage(`{"additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}}}`)
		err := mustCompile(t, s).ValidateContext(json.RawMessage(`{"0": {"a b": "x"}}`))
		require.Equal(t, []taskertype.FieldError{{Field: `context["0"]["a b"]`, Problem: "got string, want integer"}}, contextProblemsOf(t, err))
	})

	rejected := []struct {
		name, ctx, want string
	}{
		{"array", `[{"customer_id": "c1"}]`, "context must be a JSON object, got array"},
		{"string", `"x"`, "context must be a JSON object, got string"},
		{"null", `null`, "context is required: pass a JSON object such as {}"},
		{"empty", ``, "context is required: pass a JSON object such as {}"},
		{"invalid JSON", `{"a": tru}`, "context is not valid JSON: invalid character '}' in literal true (expecting 'e')"},
		{"too deep", `{"a":` + strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth) + `}`, "context must nest arrays and objects at most 10000 levels deep, got 10001"},
	}
	for _, tt := range rejected {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tmpl.ValidateContext(json.RawMessage(tt.ctx))
			require.Equal(t, []taskertype.FieldError{{Field: "context", Problem: tt.want}}, contextProblemsOf(t, err))
		})
	}

	t.Run("without a schema any object passes", func(t *testing.T) {
		t.Parallel()
		plain := mustCompile(t, diamond())
		require.False(t, plain.HasContextSchema())
		require.NoError(t, plain.ValidateContext(json.RawMessage(` {"anything": [1, "two"]} `)))
		require.NoError(t, plain.ValidateContext(json.RawMessage(`{}`)))
		err := plain.ValidateContext(json.RawMessage(`42`))
		require.Equal(t, []taskertype.FieldError{{Field: "context", Problem: "context must be a JSON object, got number"}}, contextProblemsOf(t, err))
	})

	t.Run("NUL escapes are named", func(t *testing.T) {
		t.Parallel()
		plain := mustCompile(t, diamond())
		err := plain.ValidateContext(json.RawMessage(`{"a": [{"b": "x\u0000"}], "k\u0000": 1}`))
		require.Equal(t, []taskertype.FieldError{
			{Field: "context.a[0].b", Problem: `string must not contain the escape \u0000, which PostgreSQL's jsonb cannot store`},
			{Field: `context["k\x00"]`, Problem: `key must not contain the escape \u0000, which PostgreSQL's jsonb cannot store`},
		}, contextProblemsOf(t, err))
	})
}

// requireTopological checks that Order lists every step once, after its
// parents, and that Levels are right. It avoids testify in its loops, which
// would make it quadratic.
func requireTopological(t *testing.T, tmpl *Template) {
	t.Helper()
	require.Len(t, tmpl.Order, len(tmpl.Spec.Steps))
	require.Len(t, tmpl.Levels, len(tmpl.Spec.Steps))
	pos := make(map[string]int, len(tmpl.Order))
	for i, name := range tmpl.Order {
		if _, dup := pos[name]; dup {
			t.Fatalf("step %q appears twice in Order", name)
		}
		pos[name] = i
	}
	for _, st := range tmpl.Spec.Steps {
		p, ok := pos[st.Name]
		if !ok {
			t.Fatalf("step %q is missing from Order", st.Name)
		}
		want := 0
		for _, d := range st.DependsOn {
			if pd, ok := pos[d]; !ok || pd >= p {
				t.Fatalf("step %q comes before its parent %q in Order", st.Name, d)
			}
			want = max(want, tmpl.Levels[d]+1)
		}
		if got := tmpl.Levels[st.Name]; got != want {
			t.Fatalf("level of %q is %d, want %d", st.Name, got, want)
		}
	}
}

func TestCompileChain(t *testing.T) {
	t.Parallel()
	for _, n := range []int{50, MaxSteps} {
		spec := diamond()
		spec.Steps = make([]taskertype.StepSpec, n)
		for i := range n {
			spec.Steps[i] = step(fmt.Sprintf("s%d", i))
			if i > 0 {
				spec.Steps[i].DependsOn = []string{fmt.Sprintf("s%d", i-1)}
			}
		}
		start := time.Now()
		tmpl := mustCompile(t, spec)
		require.Less(t, time.Since(start), 5*time.Second)
		requireTopological(t, tmpl)
		require.Equal(t, n-1, tmpl.Levels[fmt.Sprintf("s%d", n-1)])
	}
}

func TestCompileRandomDAG(t *testing.T) {
	t.Parallel()
	const n = 2000
	rng := rand.New(rand.NewPCG(1, 2))
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("step_%d", i)
	}
	// Parents come from earlier in a random permutation, so the graph is
	// acyclic; steps are declared in another order.
	perm := rng.Perm(n)
	spec := diamond()
	spec.Steps = make([]taskertype.StepSpec, n)
	for i, p := range perm {
		st := step(names[p])
		if i > 0 {
			seen := map[int]bool{}
			for range rng.IntN(4) {
				parent := perm[rng.IntN(i)]
				if !seen[parent] {
					seen[parent] = true
					st.DependsOn = append(st.DependsOn, names[parent])
				}
			}
		}
		spec.Steps[p] = st
	}
	start := time.Now()
	tmpl := mustCompile(t, spec)
	require.Less(t, time.Since(start), 2*time.Second)
	requireTopological(t, tmpl)

	again := mustCompile(t, spec)
	require.Equal(t, tmpl.Order, again.Order)
	require.Equal(t, tmpl.ShapeHash, again.ShapeHash)
}

func TestCompileNil(t *testing.T) {
	t.Parallel()
	_, err := Compile(nil)
	require.Equal(t, []taskertype.FieldError{{Field: "", Problem: "template is missing"}}, problemsOf(t, err))
}

func FuzzCompile(f *testing.F) {
	seeds := []string{
		`{"namespace":"ns","name":"t","version":"1.0.0","steps":[{"name":"a","handler":"A"},{"name":"b","handler":"B","depends_on":["a"]}]}`,
		`{"namespace":"ns","name":"t","version":"1.0.0","steps":[{"name":"a","handler":"A","depends_on":["b"]},{"name":"b","handler":"B","depends_on":["a"]}]}`,
		`{"namespace":"ns","name":"t","version":"1.0.0","steps":[{"name":"a","handler":"A","depends_on":["a","a","x"]},{"name":"a","handler":""}]}`,
		`{"namespace":"ns","name":"t","version":"1.0.0-rc.1","identity_strategy":"always_unique","context_schema":{"type":"object","required":["x"]},"steps":[{"name":"a","handler":"A","handler_config":{"k":[1,{"z":null}]},"retryable":false,"retry_limit":0}]}`,
		`{"namespace":"ns","name":"t","version":"1.0.0","context_schema":{"$ref":"#/$defs/x","$defs":{"x":{"type":"integer"}}},"steps":[{"name":"a","handler":"A","handler_config":[1]}]}`,
		`{"namespace":"","name":"","version":"","steps":[{"retry_limit":-5}]}`,
		`{"steps":[{"name":"a","handler":"A","depends_on":["c"]},{"name":"b","handler":"B","depends_on":["a"]},{"name":"c","handler":"C","depends_on":["b"]},{"name":"d","handler":"D","depends_on":["d","c"]}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec taskertype.TemplateSpec
		if err := json.Unmarshal(data, &spec); err != nil {
			return
		}
		tmpl, err := Compile(&spec)
		if err != nil {
			var verr *taskertype.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Compile returned %T, not a *ValidationError: %v", err, err)
			}
			if verr.Op != OpRegisterTemplate || len(verr.Problems) == 0 {
				t.Fatalf("bad validation error: %+v", verr)
			}
			for _, p := range verr.Problems {
				if p.Problem == "" {
					t.Fatalf("empty problem in %+v", verr)
				}
			}
			return
		}
		requireTopological(t, tmpl)
		again, err := Compile(&spec)
		require.NoError(t, err)
		require.Equal(t, tmpl.ShapeHash, again.ShapeHash)
		require.Equal(t, tmpl.Order, again.Order)
		if err := tmpl.ValidateContext(json.RawMessage(`{"a": [1, {"b": null}]}`)); err != nil {
			var verr *taskertype.ValidationError
			require.ErrorAs(t, err, &verr)
			require.Equal(t, OpInitializeTask, verr.Op)
		}
	})
}
