// Package jsondoc reads the free-form JSON documents callers hand the engine
// (task contexts, handler configs, context schemas): measured before they
// are decoded, decoded with every number kept exactly, refused when an
// object repeats a key, and re-encoded canonically for identity hashing.
// The documents themselves are stored as the caller sent them.
package jsondoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Measure reports how deeply arrays and objects nest in raw and how many
// there are, without decoding or recursing, so it is safe on any input.
// Invalid JSON is left for Decode to report.
func Measure(raw []byte) (depth, containers int) {
	depth, containers, _, _ = scan(raw, -1)
	return depth, containers
}

// DepthBeyond returns the deepest nesting of b's arrays and objects, stopping
// as soon as it passes limit, and the top-level key under which that nesting
// was reached (to name the field of a too-deep input).
func DepthBeyond(b []byte, limit int) (int, string) {
	depth, _, keyStart, keyEnd := scan(b, limit)
	return depth, string(b[keyStart:keyEnd])
}

// scan walks raw's arrays and objects without decoding or recursing, so no
// input can exhaust the stack, and assumes nothing about validity: the
// deepest nesting, how many containers, and where in raw the top-level key
// in force at the end is. It stops as soon as the nesting passes limit
// (never when limit < 0).
func scan(raw []byte, limit int) (depth, containers, keyStart, keyEnd int) {
	cur := 0
	strStart, lastStart, lastEnd := -1, 0, 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if strStart >= 0 {
			switch c {
			case '\\':
				i++
			case '"':
				lastStart, lastEnd, strStart = strStart, i, -1
			}
			continue
		}
		switch c {
		case '"':
			strStart = i + 1
		case ':':
			if cur == 1 {
				keyStart, keyEnd = lastStart, lastEnd
			}
		case '{', '[':
			cur++
			containers++
			if cur > depth {
				depth = cur
				if limit >= 0 && depth > limit {
					return depth, containers, keyStart, keyEnd
				}
			}
		case '}', ']':
			cur--
		}
	}
	return depth, containers, keyStart, keyEnd
}

// DuplicateKeyError is an object that names a key twice ({"a":1,"a":2}, as
// Ruby's {"a" => 1, :a => 2} encodes): which value was meant is unknowable.
type DuplicateKeyError struct {
	Path string // where the object is: "$", "$.user", "$.items[2]"
	Key  string
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("object at %s has the key %q more than once", e.Path, e.Key)
}

var errTrailingData = errors.New("unexpected data after the top-level value")

// Decode decodes one JSON value into maps, slices, strings, bools, nil and
// json.Number (so nothing is lost: 1e300 stays 1e300). An object with a
// repeated key is a *DuplicateKeyError. Check the depth with Measure first:
// Decode recurses once per level.
func Decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := value(dec, "$")
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errTrailingData
	}
	return v, nil
}

func value(dec *json.Decoder, path string) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key := kt.(string) // the decoder only yields strings in key position
				if _, dup := obj[key]; dup {
					return nil, &DuplicateKeyError{Path: path, Key: key}
				}
				if obj[key], err = value(dec, childPath(path, key)); err != nil {
					return nil, err
				}
			}
			_, err := dec.Token() // '}'
			return obj, err
		case '[':
			arr := []any{}
			for i := 0; dec.More(); i++ {
				v, err := value(dec, path+"["+strconv.Itoa(i)+"]")
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token() // ']'
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

func childPath(path, key string) string {
	if key != "" && !strings.ContainsAny(key, ".[]\"' ") {
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// Canonical encodes a decoded value with object keys sorted, no
// insignificant whitespace and no HTML escaping, so equal values always
// encode to the same bytes.
func Canonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
