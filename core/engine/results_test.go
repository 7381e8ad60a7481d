package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/tasker-systems/tasker-core-go/core/taskertest"
	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

func producerConsumer(ns string) *tt.TemplateSpec {
	return &tt.TemplateSpec{Namespace: ns, Name: "results_roundtrip", Version: "1.0.0", Steps: []tt.StepSpec{
		{Name: "producer", Handler: "Producer"},
		{Name: "relay", Handler: "Relay", DependsOn: []string{"producer"}},
		{Name: "consumer", Handler: "Consumer", DependsOn: []string{"relay"}},
	}}
}

// bigResults builds a results document of about 5 MB: one long string of
// mixed scripts and many small objects.
func bigResults() json.RawMessage {
	chunk := `abcdefghij漢字かな😀עברית\"quoted\"\\` // escaped for JSON
	var b strings.Builder
	b.WriteString(`{"blob":"`)
	for b.Len() < 3<<20 {
		b.WriteString(chunk)
	}
	b.WriteString(`","rows":[`)
	for i := 0; b.Len() < 5<<20; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"sku":"SKU-%06d","price":%d.%02d,"tags":["a","b"]}`, i, i, i%1000, i%100)
	}
	b.WriteString(`]}`)
	return json.RawMessage(b.String())
}

func TestResultsRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		results json.RawMessage
	}{
		{"nested_objects", json.RawMessage(`{"order":{"id":42,"customer":{"name":"Ada","address":{"lines":["1 Loop Rd",""],"geo":{"lat":51.5,"lng":-0.12}}},"items":[{"sku":"A","qty":1},{"sku":"B","qty":2,"meta":{}}]},"ok":true,"none":null}`)},
		{"unicode", json.RawMessage(`{"emoji":"😀🎉👩‍👩‍👧‍👦🏳️‍🌈","cjk":"漢字・かな・カナ・한국어","rtl":"עברית والعربية","quotes":"he said \"hi\" and left \\ o/","escapes":"tab\tnewline\nunicode\u00e9\u2028\u2029\ud83d\ude00","control":"\u0001\u001f","key_😀":"value"}`)},
		{"big_numbers", json.RawMessage(`{"max_safe_plus_two":9007199254740993,"int64_max":9223372036854775807,"beyond_int64":123456789012345678901234567890,"negative":-9007199254740993,"zero":0}`)},
		{"decimals", json.RawMessage(`{"tenth":0.1,"sum":0.30000000000000004,"huge":1e300,"tiny":1e-300,"exp":6.02214076E23,"neg":-2.5,"trailing":1.50}`)},
		{"empty_object", json.RawMessage(`{}`)},
		{"null", json.RawMessage(`null`)},
		{"array", json.RawMessage(`[1,"two",3.0,null,true,false,{"x":[]},[[]],[{"deep":[1,[2,[3]]]}]]`)},
		{"empty_array", json.RawMessage(`[]`)},
		{"scalar_string", json.RawMessage(`"just a string"`)},
		{"scalar_number", json.RawMessage(`-17.25`)},
		{"scalar_bool", json.RawMessage(`false`)},
		{"nul_escape", json.RawMessage(`{"nul":"a\u0000b"}`)},
		{"key_order_and_spacing", json.RawMessage(`{"zebra": 1, "apple": {"b": 2, "a": 1}, "float": 1.0, "exp": 1.0e300}`)},
		{"large_5mb", bigResults()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := taskertest.Engine(t)
			ns := taskertest.Namespace(t)
			spec := producerConsumer(ns)
			init := taskertest.Start(t, e, spec, nil)
			// The consumer, a grandchild, asks for the producer's results.
			var seenByConsumer json.RawMessage
			d := taskertest.Drive(t, e, ns, []int64{init.TaskID}, func(s tt.ClaimedStep) (any, *taskertest.Failure) {
				switch s.StepName {
				case "producer":
					return c.results, nil
				case "consumer":
					got, err := e.AncestorResults(context.Background(), &tt.AncestorResultsParams{StepID: s.WorkflowStepID,
						ClaimToken: s.ClaimToken, Names: []string{"producer"}})
					require.NoError(t, err)
					seenByConsumer = got["producer"]
				}
				return map[string]any{"step": s.StepName}, nil
			})
			st := d.Tasks[init.TaskID]
			require.Equal(t, tt.TaskComplete, st.Status)
			steps := stepsByName(st)
			requireJSONEqual(t, c.results, steps["producer"].Results, "stored results")
			require.Equal(t, string(c.results), string(steps["producer"].Results), "results are stored byte for byte")

			for _, r := range d.Log {
				if r.Step.StepName == "relay" {
					got, ok := r.Step.DependencyResults["producer"]
					require.True(t, ok, "relay sees producer")
					requireJSONEqual(t, c.results, got, "relay's dependency_results[producer]")
				}
			}
			requireJSONEqual(t, c.results, seenByConsumer, "the consumer's ancestor results[producer]")
		})
	}
}

// Results that are not JSON are the worker's error, reported as a validation
// error; the claim stays valid, so the worker can report again.
func TestResultsRejectedKeepClaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := taskertest.Engine(t)
	ns := taskertest.Namespace(t)
	init := taskertest.Start(t, e, producerConsumer(ns), nil)
	claim, err := e.ClaimSteps(ctx, &tt.ClaimParams{Namespaces: []string{ns}, Limit: 10, WorkerID: "w1"})
	require.NoError(t, err)
	require.Len(t, claim.Steps, 1)
	s := claim.Steps[0]

	for _, bad := range []string{`{"unterminated":`, `{"a":1} trailing`, `{'single':1}`} {
		_, err = e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: json.RawMessage(bad)})
		requireCode(t, err, tt.CodeValidation)
	}
	st, err := e.TaskStatus(ctx, init.TaskID)
	require.NoError(t, err)
	require.Equal(t, tt.StepInProgress, stepsByName(st)["producer"].Status)

	res, err := e.CompleteStep(ctx, &tt.CompleteParams{StepID: s.WorkflowStepID, ClaimToken: s.ClaimToken, Results: json.RawMessage(`{"fine":true}`)})
	require.NoError(t, err)
	require.Equal(t, tt.StepComplete, res.Status)
}
