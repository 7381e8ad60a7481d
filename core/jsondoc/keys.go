package jsondoc

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"encoding/json"
)

// KeyError is an object key a Go type does not accept.
type KeyError struct {
	Path    string // the key's path: "steps[1].retries"
	Key     string
	Problem string // "unknown field" or "duplicate key"
}

func (e *KeyError) Error() string { return fmt.Sprintf("%s: %s %q", e.Path, e.Problem, e.Key) }

// CheckKeys walks JSON a decoder into t is about to read and enforces what
// lenient decoders do not: object keys must match a field's JSON name
// exactly (encoding/json and goccy match case-insensitively) and may appear
// once per object. Free-form values (json.RawMessage) are skipped without
// looking inside (Decode checks those). It returns a *KeyError for the
// first offending key; malformed JSON is left for the decoder to report. It
// never allocates on the success path except for the per-type field tables
// it caches.
func CheckKeys(b []byte, t reflect.Type) error {
	w := keyWalker{b: b}
	return w.value(t)
}

// pathSeg is one step of the path to the value being walked: an object key,
// or an array index when key is nil. The path is only rendered when there is
// an error to report.
type pathSeg struct {
	key   []byte
	index int
}

// pathString renders the walker's path followed by key.
func (w *keyWalker) pathString(key string) string {
	var sb strings.Builder
	for _, s := range w.path {
		if s.key == nil {
			sb.WriteString("[" + strconv.Itoa(s.index) + "]")
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.Write(s.key)
	}
	return joinPath(sb.String(), key)
}

// structFields is a struct type's JSON field names and types.
type structFields struct {
	index map[string]int
	types []reflect.Type
}

var fieldCache sync.Map // reflect.Type -> *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f := &structFields{index: map[string]int{}}
	for sf := range t.Fields() {
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f.index[name] = len(f.types)
		f.types = append(f.types, sf.Type)
	}
	fieldCache.Store(t, f)
	return f
}

type keyWalker struct {
	b    []byte
	i    int
	path []pathSeg
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

func (w *keyWalker) value(t reflect.Type) error {
	w.space()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	c := w.peek()
	switch {
	case c == '{' && t.Kind() == reflect.Struct:
		return w.object(t, fieldsOf(t))
	case c == '{' && t.Kind() == reflect.Map:
		return w.object(t, nil)
	case c == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t != rawMessageType:
		w.i++
		for n := 0; ; n++ {
			w.space()
			if w.peek() == ']' || w.peek() == 0 {
				w.i++
				return nil
			}
			w.path = append(w.path, pathSeg{index: n})
			if err := w.value(t.Elem()); err != nil {
				return err
			}
			w.path = w.path[:len(w.path)-1]
			if !w.separator() {
				return nil // malformed: the decoder reports it
			}
		}
	}
	w.skip()
	return nil
}

// object walks an object's members: a struct's keys (fields != nil) must be
// its fields' names, once each; a map's are free.
func (w *keyWalker) object(t reflect.Type, fields *structFields) error {
	w.i++
	var seen uint64 // by field index; our structs have fewer than 64 fields
	for {
		w.space()
		if w.peek() == '}' { // {} (a closing brace after members is the separator's)
			w.i++
			return nil
		}
		if w.peek() != '"' {
			return nil // malformed: the decoder reports it
		}
		raw, escaped := w.str()
		var elem reflect.Type
		if fields == nil {
			elem = t.Elem()
		} else {
			i, ok := fields.index[string(raw)] // no allocation
			key := ""
			if escaped || !ok || (i < 64 && seen&(1<<i) != 0) {
				key = string(raw)
				if escaped {
					_ = json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &key)
					i, ok = fields.index[key]
				}
			}
			if !ok {
				return &KeyError{Path: w.pathString(key), Key: key, Problem: "unknown field"}
			}
			if i < 64 && seen&(1<<i) != 0 {
				return &KeyError{Path: w.pathString(key), Key: key, Problem: "duplicate key"}
			}
			seen |= 1 << (i % 64)
			elem = fields.types[i]
		}
		w.space()
		w.i++ // ':'
		w.path = append(w.path, pathSeg{key: raw})
		if err := w.value(elem); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
		if !w.separator() {
			return nil
		}
	}
}

// separator steps over a ',' and reports whether the container goes on.
func (w *keyWalker) separator() bool {
	w.space()
	if w.peek() == ',' {
		w.i++
		return true
	}
	if w.peek() != 0 {
		w.i++ // '}' or ']'
	}
	return false
}

// peek returns the current byte, 0 at the end of the input.
func (w *keyWalker) peek() byte {
	if w.i >= len(w.b) {
		return 0
	}
	return w.b[w.i]
}

// str steps over a string token and returns its raw contents (without the
// quotes) and whether it holds escapes.
func (w *keyWalker) str() ([]byte, bool) {
	w.i++
	start, escaped := w.i, false
	for w.i < len(w.b) && w.b[w.i] != '"' {
		if w.b[w.i] == '\\' {
			escaped = true
			w.i++
		}
		w.i++
	}
	end := min(w.i, len(w.b))
	w.i = min(w.i+1, len(w.b))
	return w.b[start:end], escaped
}

// skip steps over one value without recursion.
func (w *keyWalker) skip() {
	depth := 0
	for w.i < len(w.b) {
		switch c := w.b[w.i]; c {
		case '"':
			w.str()
			if depth == 0 {
				return
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return // the end of the enclosing container
			}
			depth--
			if depth == 0 {
				w.i++
				return
			}
		case ',':
			if depth == 0 {
				return
			}
		case ' ', '\t', '\r', '\n':
		default:
			if depth == 0 { // a number or literal
				for w.i < len(w.b) && !strings.ContainsRune(",}] \t\r\n", rune(w.b[w.i])) {
					w.i++
				}
				return
			}
		}
		w.i++
	}
}

func (w *keyWalker) space() {
	for w.i < len(w.b) && (w.b[w.i] == ' ' || w.b[w.i] == '\t' || w.b[w.i] == '\r' || w.b[w.i] == '\n') {
		w.i++
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
