package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/goccy/go-json"

	tt "github.com/tasker-systems/tasker-core-go/core/taskertype"
)

// Per-call costs of the ABI. The loops run in C (testhelpers_cgo.go), so
// every iteration is a real C-to-Go call. Reproduce with
//
//	go test ./ffi -run '^$' -bench . -benchmem
//
// and record the numbers in bindings/ABI.md ("Measured").

func BenchmarkNoopExport(b *testing.B) {
	if benchABIVersion(b.N) != b.N*abiVersion {
		b.Fatal("tasker_abi_version returned something else")
	}
}

func BenchmarkHandleCreateFree(b *testing.B) {
	before := liveHandles()
	if benchHandle(b.N) != 0 {
		b.Fatal("tasker_stats or tasker_handle_free failed")
	}
	if liveHandles() != before {
		b.Fatal("handles leaked")
	}
}

// BenchmarkHandleTable is the table alone, without cgo.
func BenchmarkHandleTable(b *testing.B) {
	t := newHandleTable()
	v := &Stats{}
	for b.Loop() {
		if err := t.free(t.put(v)); err != nil {
			b.Fatal(err)
		}
	}
}

// claimBatchJSON is a ClaimResult of n steps shaped like production: a
// context, handler config and two parents' results per step.
func claimBatchJSON(n int) string {
	res := tt.ClaimResult{}
	for i := range n {
		res.Steps = append(res.Steps, tt.ClaimedStep{
			WorkflowStepID: int64(1000 + i), TaskID: 77, Namespace: "orders", TaskName: "fulfil", TaskVersion: "1.0.0",
			StepName: fmt.Sprintf("step_%d", i), Handler: "Orders::FulfilStep",
			HandlerConfig:     json.RawMessage(`{"timeout":30,"queue":"default"}`),
			TaskContext:       json.RawMessage(`{"order_id":12345,"customer":{"id":9,"tier":"gold"},"items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]}`),
			Inputs:            json.RawMessage(`null`),
			DependencyResults: map[string]json.RawMessage{"validate": json.RawMessage(`{"ok":true}`), "reserve": json.RawMessage(`{"reservation":"r-1"}`)},
			Attempts:          1, RetryLimit: 3, Retryable: true,
			ClaimToken: "8c1f3b8e-6a0e-4a43-9f3e-0f7c1f0e2b11", LeaseExpiresAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		})
	}
	b, err := json.Marshal(res)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// BenchmarkClaimBatchRoundTrip: a 50-step claim batch decoded strictly into a
// handle (tasker_debug_echo), read back as JSON, and both freed.
func BenchmarkClaimBatchRoundTrip(b *testing.B) {
	in := claimBatchJSON(50)
	b.SetBytes(int64(len(in)))
	if benchRoundTrip(b.N, "ClaimResult", in) != 0 {
		b.Fatal("round trip failed")
	}
}

// BenchmarkDecodeTaskRequest: strict decoding of a small request, in Go.
func BenchmarkDecodeTaskRequest(b *testing.B) {
	in := []byte(`{"namespace":"orders","name":"fulfil","context":{"order_id":12345,"items":[{"sku":"A-1","qty":2}]},"tags":["web"],"priority":1}`)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := decodeTaskRequest(in); err != nil {
			b.Fatal(err)
		}
	}
}
