package main

// #include <stdint.h>
// #include <stdlib.h>
import "C"

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"unsafe"

	"github.com/goccy/go-json"
)

// libraryVersion is the library's own version; the ABI version is separate.
const libraryVersion = "0.1.0"

// The process-wide exports: lifecycle, diagnostics, memory.

//export tasker_version
func tasker_version(out **C.char, len_out *C.int64_t) (rc C.int) {
	defer guard(&rc, nil)
	if out == nil {
		return rcABI
	}
	b, _ := json.Marshal(map[string]any{"version": libraryVersion, "abi_version": abiVersion, "go_version": runtime.Version()})
	return putString(out, len_out, b)
}

//export tasker_init
func tasker_init(config_json *C.char, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	if err_out != nil {
		*err_out = nil
	}
	b, err := goBytes(config_json, "config_json")
	if err != nil {
		return fail(err_out, err)
	}
	cfg, err := decodeInitConfig(b)
	if err != nil {
		return fail(err_out, err)
	}
	if err := start(cfg); err != nil {
		return fail(err_out, err)
	}
	return rcOK
}

//export tasker_shutdown
func tasker_shutdown(timeout_ms C.int64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	if err_out != nil {
		*err_out = nil
	}
	d, err := timeoutOf(timeout_ms, defaultTimeout)
	if err != nil {
		return fail(err_out, err)
	}
	if err := stop(d); err != nil {
		return fail(err_out, err)
	}
	return rcOK
}

//export tasker_live_handles
func tasker_live_handles() C.int64_t { return C.int64_t(handles.live()) }

//export tasker_stats
func tasker_stats(out *C.uint64_t, err_out **C.char) (rc C.int) {
	defer guard(&rc, err_out)
	if err_out != nil {
		*err_out = nil
	}
	if out == nil {
		return fail(err_out, nullArg("out"))
	}
	*out = C.uint64_t(handles.put(collectStats()))
	return rcOK
}

//export tasker_goroutine_dump
func tasker_goroutine_dump(out **C.char, len_out *C.int64_t) (rc C.int) {
	defer guard(&rc, nil)
	if out == nil {
		return rcABI
	}
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return putString(out, len_out, buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

//export tasker_ensure_sigonstack
func tasker_ensure_sigonstack() (n C.int) {
	defer func() {
		if recover() != nil {
			n = -1
		}
	}()
	return C.int(ensureSigOnStack())
}

//export tasker_string_free
func tasker_string_free(s *C.char) { C.free(unsafe.Pointer(s)) }

func putString(out **C.char, len_out *C.int64_t, b []byte) C.int {
	*out = cBytes(b)
	if len_out != nil {
		*len_out = C.int64_t(len(b))
	}
	return rcOK
}

func collectStats() *Stats {
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(heap) // unlike ReadMemStats, no stop-the-world
	st := &Stats{
		LiveHandles: int64(handles.live()), Goroutines: int64(runtime.NumGoroutine()),
		HeapAllocBytes: int64(heap[0].Value.Uint64()), GOMAXPROCS: int64(runtime.GOMAXPROCS(0)),
		MemoryLimit: debug.SetMemoryLimit(-1), GoVersion: runtime.Version(),
		ABIVersion: abiVersion, LibraryVersion: libraryVersion,
	}
	if s, err := current(); err == nil {
		ps := s.pool.Stat()
		st.Initialized = true
		st.PoolTotalConns, st.PoolIdleConns = int64(ps.TotalConns()), int64(ps.IdleConns())
		st.PoolAcquired, st.PoolMaxConns = int64(ps.AcquiredConns()), int64(ps.MaxConns())
		st.PoolEmptyAcquire = ps.EmptyAcquireCount()
	}
	return st
}
