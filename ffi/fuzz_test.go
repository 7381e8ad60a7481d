package main

import (
	"errors"
	"testing"

	"github.com/goccy/go-json"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Fuzz targets for every strict decoder. Each checks that the decoder never
// panics, that every rejection is a ValidationError, and that whatever it
// accepts encodes and decodes again. bindings/fuzz_smoke.sh runs each
// briefly in `make test`; FUZZTIME=1m runs them longer.

func fuzzDecoder[T any](f *testing.F, decode func([]byte) (*T, error), seeds ...string) {
	for _, s := range append(seeds, ``, `{}`, `null`, `[]`, `{"a":1}`, `{"`, "{\"x\":\"\xff\"}", `{}{}`, `[[[[[[`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decode(b)
		if err != nil {
			var ve *tt.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("rejection is %T, not a ValidationError: %v", err, err)
			}
			if rc, _ := describe(err); rc != rcValidation {
				t.Fatalf("rejection maps to rc %d", rc)
			}
			return
		}
		again, mErr := json.Marshal(v)
		if mErr != nil {
			t.Fatalf("accepted input does not encode: %v", mErr)
		}
		if _, err := decode(again); err != nil {
			t.Fatalf("re-encoded input %s is rejected: %v", again, err)
		}
	})
}

func FuzzDecodeTemplate(f *testing.F) {
	fuzzDecoder(f, decodeTemplateSpec,
		`{"namespace":"n","name":"d","version":"1","steps":[{"name":"a","handler":"A"},{"name":"b","handler":"B","depends_on":["a"],"retry_limit":2,"retryable":false,"handler_config":{"x":[1]}}]}`,
		`{"namespace":"n","name":"d","version":"1","context_schema":{"type":"object"},"steps":[]}`)
}

func FuzzDecodeTaskRequest(f *testing.F) {
	fuzzDecoder(f, decodeTaskRequest,
		`{"namespace":"n","name":"d","context":{"a":[1,{"b":null}]},"tags":["x"],"priority":3,"identity_strategy":"always_unique"}`,
		`{"namespace":"n","name":"d","context":{},"Namespace":"dup"}`)
}

func FuzzDecodeClaim(f *testing.F) {
	fuzzDecoder(f, decodeClaimParams, `{"namespaces":["a","b"],"limit":50,"worker_id":"w","lease_ms":1000}`)
}

func FuzzDecodeClaimOne(f *testing.F) {
	fuzzDecoder(f, decodeClaimOneParams, `{"step_id":1,"worker_id":"w","lease_ms":5}`)
}

func FuzzDecodeAncestorResults(f *testing.F) {
	fuzzDecoder(f, decodeAncestorResultsParams, `{"step_id":1,"claim_token":"8c1f3b8e-6a0e-4a43-9f3e-0f7c1f0e2b11","names":["a","b"]}`)
}

func FuzzDecodeHeartbeat(f *testing.F) {
	fuzzDecoder(f, decodeHeartbeatParams, `{"step_id":1,"claim_token":"8c1f3b8e-6a0e-4a43-9f3e-0f7c1f0e2b11","lease_ms":5}`)
}

func FuzzDecodeComplete(f *testing.F) {
	fuzzDecoder(f, decodeCompleteParams, `{"step_id":1,"claim_token":"t","results":{"ok":true,"n":[1.5e3,"\u00e9"]}}`)
}

func FuzzDecodeFail(f *testing.F) {
	fuzzDecoder(f, decodeFailParams, `{"step_id":1,"claim_token":"t","error":{"class":"E","message":"m","backtrace":["a:1"]},"permanent":true,"backoff_seconds":2.5}`)
}

func FuzzDecodeRelease(f *testing.F) {
	fuzzDecoder(f, decodeReleaseParams, `{"step_id":1,"claim_token":"8c1f3b8e-6a0e-4a43-9f3e-0f7c1f0e2b11","reason":"shutdown"}`)
}

func FuzzDecodeResolve(f *testing.F) {
	fuzzDecoder(f, decodeResolveStepParams, `{"step_id":1,"reason":"r","results":[1,2]}`)
}

func FuzzDecodeCancel(f *testing.F) {
	fuzzDecoder(f, decodeCancelTaskParams, `{"task_id":1,"reason":"r"}`)
}

func FuzzDecodeRetry(f *testing.F) {
	fuzzDecoder(f, decodeRetryTaskParams, `{"task_id":1}`)
}

func FuzzDecodePurge(f *testing.F) {
	fuzzDecoder(f, decodePurgeTasksParams, `{"task_ids":[1,2,2],"skip_missing":true,"force":false}`)
}

func FuzzDecodeTaskList(f *testing.F) {
	fuzzDecoder(f, decodeTaskListParams, `{"states":["error"],"namespace":"n","name":"t","version":"1","older_than_seconds":60,"before_task_id":9,"limit":5}`)
}

func FuzzDecodeStats(f *testing.F) {
	fuzzDecoder(f, decodeStatsParams, `{"minutes":15}`)
}

func FuzzDecodeStuck(f *testing.F) {
	fuzzDecoder(f, decodeStuckParams, `{"default_step_timeout_ms":1000,"grace_ms":10,"limit":5}`)
}

func FuzzDecodeTaskRequestList(f *testing.F) {
	fuzzDecoder(f, decodeTaskRequestListParams, `{"status":"failed","limit":10,"after_id":3}`)
}

func FuzzDecodeInitConfig(f *testing.F) {
	fuzzDecoder(f, decodeInitConfig, `{"database_url":"postgres://x","pool_size":3,"backoff":{"base_ms":1,"multiplier":2,"max_ms":10,"jitter_fraction":0.1}}`)
}
