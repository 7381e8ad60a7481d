package jsondoc_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/jsondoc"
)

func TestDecodeKeepsNumbersAndRefusesDuplicateKeys(t *testing.T) {
	t.Parallel()
	v, err := jsondoc.Decode([]byte(`{"b":1e300,"a":[-0.0,1.50]}`))
	require.NoError(t, err)
	canon, err := jsondoc.Canonical(v)
	require.NoError(t, err)
	require.Equal(t, `{"a":[-0.0,1.50],"b":1e300}`, string(canon))

	for doc, want := range map[string]jsondoc.DuplicateKeyError{
		`{"a":1,"a":2}`:               {Path: "$", Key: "a"},
		`{"a":1,"\u0061":2}`:          {Path: "$", Key: "a"},
		`{"x":{"y":[{"k":1,"k":1}]}}`: {Path: "$.x.y[0]", Key: "k"},
		`{"odd key":{"":1,"":2}}`:     {Path: `$["odd key"]`, Key: ""},
	} {
		_, err := jsondoc.Decode([]byte(doc))
		var dup *jsondoc.DuplicateKeyError
		require.ErrorAs(t, err, &dup, doc)
		require.Equal(t, want, *dup, doc)
	}
	_, err = jsondoc.Decode([]byte(`{"a":1} {}`))
	require.Error(t, err)
	_, err = jsondoc.Decode([]byte(`{"a":`))
	require.Error(t, err)
}

func TestDepth(t *testing.T) {
	t.Parallel()
	depth, containers := jsondoc.Measure([]byte(`{"a":[{"b":"[[["}],[]]}`))
	require.Equal(t, 3, depth)
	require.Equal(t, 4, containers)
	deep := `{"ok":1,"deep":` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `}`
	depth, key := jsondoc.DepthBeyond([]byte(deep), 10)
	require.Equal(t, 11, depth, "stops just past the limit")
	require.Equal(t, "deep", key)
}

type spec struct {
	Name  string          `json:"name"`
	Steps []step          `json:"steps"`
	Extra json.RawMessage `json:"extra"`
}

type step struct {
	Retries int `json:"retry_limit"`
}

func TestCheckKeysIsExactAndOnce(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[spec]()
	require.NoError(t, jsondoc.CheckKeys([]byte(`{"name":"x","steps":[{"retry_limit":1}],"extra":{"Any":1,"Any":2}}`), typ),
		"free-form values are not looked into")
	for doc, want := range map[string]jsondoc.KeyError{
		`{"Name":"x"}`:                                  {Path: "Name", Key: "Name", Problem: "unknown field"},
		`{"name":"x","name":"y"}`:                       {Path: "name", Key: "name", Problem: "duplicate key"},
		`{"steps":[{},{"retries":2}]}`:                  {Path: "steps[1].retries", Key: "retries", Problem: "unknown field"},
		`{"steps":[{"retry_limit":1,"retry_limit":2}]}`: {Path: "steps[0].retry_limit", Key: "retry_limit", Problem: "duplicate key"},
	} {
		err := jsondoc.CheckKeys([]byte(doc), typ)
		var ke *jsondoc.KeyError
		require.ErrorAs(t, err, &ke, doc)
		require.Equal(t, want, *ke, doc)
	}
}
