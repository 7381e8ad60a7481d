package template

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// isAbsent reports whether an optional raw JSON value is unset: empty, blank
// or null.
func isAbsent(raw []byte) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// scanJSON measures raw without decoding or recursing, so it is safe on any
// input: how deeply arrays and objects nest, and how many there are. Invalid
// JSON is left for the decoder to report.
func scanJSON(raw []byte) (depth, containers int) {
	cur := 0
	inString, escaped := false, false
	for _, b := range raw {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '[', '{':
			cur++
			containers++
			depth = max(depth, cur)
		case ']', '}':
			cur--
		}
	}
	return depth, containers
}

var errTrailingData = errors.New("unexpected data after the top-level value")

// decodeJSON decodes one JSON value, keeping numbers as json.Number so that
// nothing is lost and re-encoding gives back the same digits. Check the depth
// with scanJSON first: encoding/json also stops at 10,000 levels, but with a less helpful
// message.
func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errTrailingData
	}
	return v, nil
}

// hasNUL reports whether a decoded value holds a string or key with a NUL
// character (the escape \u0000), which PostgreSQL's jsonb rejects.
func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case []any:
		for _, e := range v {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return "unknown"
	}
}

// canonicalJSON encodes a value built of maps, slices and scalars with object
// keys sorted, no insignificant whitespace and no HTML escaping, so equal
// values always encode to the same bytes.
func canonicalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
