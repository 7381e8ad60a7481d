package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-json"

	"github.com/tasker-systems/tasker-core-go/core/jsondoc"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Limits on JSON inputs, checked before anything is decoded.
const (
	// maxInputBytes caps every JSON input (64 MiB).
	maxInputBytes = 64 << 20
	// maxParamDepth caps the nesting of inputs that have no free-form JSON.
	maxParamDepth = 512
	// maxDocumentDepth caps the nesting of inputs that carry free-form JSON
	// (a context, results, handler_config, context_schema), counted from the
	// top of the input; it is also the decoder's own limit.
	maxDocumentDepth = 10_000
)

// The strict decoders, one per JSON input of the ABI. Each is also a fuzz
// target (decode_test.go).
func decodeTemplateSpec(b []byte) (*tt.TemplateSpec, error) {
	return decodeStrict[tt.TemplateSpec]("register_template", b, maxDocumentDepth)
}
func decodeTaskRequest(b []byte) (*tt.TaskRequest, error) {
	return decodeStrict[tt.TaskRequest]("initialize_task", b, maxDocumentDepth)
}
func decodeClaimParams(b []byte) (*tt.ClaimParams, error) {
	return decodeStrict[tt.ClaimParams]("claim_steps", b, maxParamDepth)
}
func decodeClaimOneParams(b []byte) (*tt.ClaimOneParams, error) {
	return decodeStrict[tt.ClaimOneParams]("claim_step", b, maxParamDepth)
}
func decodeAncestorResultsParams(b []byte) (*tt.AncestorResultsParams, error) {
	return decodeStrict[tt.AncestorResultsParams]("ancestor_results", b, maxParamDepth)
}
func decodeHeartbeatParams(b []byte) (*tt.HeartbeatParams, error) {
	return decodeStrict[tt.HeartbeatParams]("heartbeat", b, maxParamDepth)
}
func decodeCompleteParams(b []byte) (*tt.CompleteParams, error) {
	return decodeStrict[tt.CompleteParams]("complete_step", b, maxDocumentDepth)
}
func decodeFailParams(b []byte) (*tt.FailParams, error) {
	return decodeStrict[tt.FailParams]("fail_step", b, maxParamDepth)
}
func decodeReleaseParams(b []byte) (*tt.ReleaseParams, error) {
	return decodeStrict[tt.ReleaseParams]("release_step", b, maxParamDepth)
}
func decodeResolveStepParams(b []byte) (*tt.ResolveStepParams, error) {
	return decodeStrict[tt.ResolveStepParams]("resolve_step", b, maxDocumentDepth)
}
func decodeCancelTaskParams(b []byte) (*tt.CancelTaskParams, error) {
	return decodeStrict[tt.CancelTaskParams]("cancel_task", b, maxParamDepth)
}
func decodeRetryTaskParams(b []byte) (*tt.RetryTaskParams, error) {
	return decodeStrict[tt.RetryTaskParams]("retry_task", b, maxParamDepth)
}
func decodePurgeTasksParams(b []byte) (*tt.PurgeTasksParams, error) {
	return decodeStrict[tt.PurgeTasksParams]("purge_tasks", b, maxParamDepth)
}
func decodePurgeAllTasksParams(b []byte) (*tt.PurgeAllTasksParams, error) {
	return decodeStrict[tt.PurgeAllTasksParams]("purge_all_tasks", b, maxParamDepth)
}
func decodeTaskListParams(b []byte) (*tt.TaskListParams, error) {
	return decodeStrict[tt.TaskListParams]("list_tasks", b, maxParamDepth)
}
func decodeStatsParams(b []byte) (*tt.StatsParams, error) {
	return decodeStrict[tt.StatsParams]("stats", b, maxParamDepth)
}
func decodeStuckParams(b []byte) (*tt.StuckParams, error) {
	return decodeStrict[tt.StuckParams]("stuck_work", b, maxParamDepth)
}
func decodeTaskRequestListParams(b []byte) (*tt.TaskRequestListParams, error) {
	return decodeStrict[tt.TaskRequestListParams]("task_requests", b, maxParamDepth)
}
func decodeInitConfig(b []byte) (*initConfig, error) {
	return decodeStrict[initConfig]("init", b, maxParamDepth)
}

// decodeStrict decodes one JSON object into a T. It rejects, as a
// ValidationError of op naming the field where it can: empty input, invalid
// UTF-8, anything but an object, nesting deeper than maxDepth, malformed
// JSON, unknown fields, wrong types and trailing data.
func decodeStrict[T any](op string, b []byte, maxDepth int) (*T, error) {
	invalid := func(field, format string, args ...any) error {
		return tt.NewValidationError(op, field, format, args...)
	}
	if len(b) > maxInputBytes {
		return nil, invalid("", "input is %d bytes, more than the limit of %d (64 MiB)", len(b), maxInputBytes)
	}
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, invalid("", "input is empty: expected a JSON object")
	}
	if !utf8.Valid(b) {
		return nil, invalid("", "input is not valid UTF-8 (first invalid byte at offset %d)", firstInvalidUTF8(b))
	}
	if trimmed[0] != '{' {
		return nil, invalid("", "expected a JSON object, got %s", jsonKindOf(trimmed[0]))
	}
	if depth, key := jsondoc.DepthBeyond(b, maxDepth); depth > maxDepth {
		return nil, invalid(key, "JSON nested deeper than %d levels", maxDepth)
	}
	// Keys first: it names the path of an unknown, duplicate or miscased key,
	// which the decoder would accept (case) or report without a path.
	var keyErr *jsondoc.KeyError
	if err := jsondoc.CheckKeys(b, reflect.TypeFor[T]()); errors.As(err, &keyErr) {
		return nil, invalid(keyErr.Path, "%s %q", keyErr.Problem, keyErr.Key)
	}
	v := new(T)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, decodeError(op, err)
	}
	if rest := bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, invalid("", "unexpected data after the JSON object at byte %d", len(b)-len(rest))
	}
	return v, nil
}

// decodeError explains a decoder error as a ValidationError.
func decodeError(op string, err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		got, _, _ := strings.Cut(typeErr.Value, " ")
		problem := fmt.Sprintf("expected %s, got %s", jsonTypeName(typeErr.Type), got)
		if got == "number" && typeErr.Value != "number" {
			problem = fmt.Sprintf("expected %s, got %s", jsonTypeName(typeErr.Type), typeErr.Value)
		}
		return tt.NewValidationError(op, fieldPath(typeErr.Field), "%s", problem)
	case errors.As(err, &syntaxErr):
		return tt.NewValidationError(op, "", "malformed JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return tt.NewValidationError(op, "", "malformed JSON: unexpected end of input")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return tt.NewValidationError(op, name, "unknown field %q", name)
	}
	return tt.NewValidationError(op, "", "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// fieldPath turns the decoder's "steps.0.retry_limit" into
// "steps[0].retry_limit".
func fieldPath(p string) string {
	var sb strings.Builder
	for i, part := range strings.Split(p, ".") {
		if _, err := strconv.Atoi(part); err == nil && i > 0 {
			sb.WriteString("[" + part + "]")
			continue
		}
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(part)
	}
	return sb.String()
}

// jsonTypeName names the JSON a Go type accepts.
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return t.String()
}

// jsonKindOf names a JSON value by its first byte.
func jsonKindOf(c byte) string {
	switch {
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	}
	return fmt.Sprintf("%q", rune(c))
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}
