// Command ffi is the C ABI of tasker-core, built with
//
//	go build -buildmode=c-shared -o build/libtasker_core.so ./ffi
//
// Every export decodes its JSON input strictly, makes one call into
// core/engine, puts the result in the handle table and maps errors to status
// codes. There is no business logic here. The contract is bindings/ABI.md; the
// generated header is checked in as bindings/libtasker_core.h.
package main

// /*
//  * libtasker_core: the tasker-core workflow engine as a C library.
//  *
//  * The engine decides which steps of a task are ready, leases them to workers,
//  * records every result and drives the task and step state machines; all state
//  * lives in PostgreSQL. Callers (the tasker_core Ruby gem, bindings/driver) pass
//  * UTF-8 JSON, int64_t ids and timeouts, and get back uint64_t handles to result
//  * objects that they read with tasker_handle_json / tasker_handle_int64 and free
//  * with tasker_handle_free. The library never calls back into the caller.
//  *
//  * Conventions (bindings/ABI.md is the full contract):
//  *   - every int-returning call returns TASKER_OK or one of the TASKER_ERR_*
//  *     codes below; on error *err_out receives {"code","message","details"}
//  *     JSON, freed with tasker_string_free (err_out may be NULL);
//  *   - strings the library returns are malloc'd and freed with
//  *     tasker_string_free; inputs are copied before the call returns;
//  *   - calls that touch the database block, take timeout_ms (0 = the default
//  *     from tasker_init) and should be attached with blocking: true;
//  *   - a panic inside the library is recovered and becomes TASKER_ERR_INTERNAL;
//  *   - a dispatcher (tasker_dispatcher_start) runs goroutines of its own that
//  *     claim, heartbeat and record reports for one worker; callers' threads
//  *     block in tasker_dispatcher_next and report with tasker_dispatcher_complete
//  *     or tasker_dispatcher_fail, and TASKER_ERR_SHUTDOWN tells them to exit;
//  *   - a process that loaded this library must not fork and then call it.
//  */
// #include <stdint.h>
// #include <stdlib.h>
//
// #define TASKER_ABI_VERSION 2
//
// #define TASKER_OK                     0
// #define TASKER_ERR_VALIDATION         1
// #define TASKER_ERR_NOT_FOUND          2
// #define TASKER_ERR_DUPLICATE          3
// #define TASKER_ERR_CONFLICT           4
// #define TASKER_ERR_INVALID_TRANSITION 5
// #define TASKER_ERR_STALE_CLAIM        6
// #define TASKER_ERR_NOT_READY          7
// #define TASKER_ERR_TIMEOUT            8
// #define TASKER_ERR_DATABASE           9
// #define TASKER_ERR_INTERNAL           10
// #define TASKER_ERR_ABI                11
// #define TASKER_ERR_INVALID_HANDLE     12
// #define TASKER_ERR_NOT_INITIALIZED    13
// #define TASKER_ERR_SHUTDOWN           14
import "C"

// The status codes, from the #defines above (the header's single source).
const (
	rcOK                = C.TASKER_OK
	rcValidation        = C.TASKER_ERR_VALIDATION
	rcNotFound          = C.TASKER_ERR_NOT_FOUND
	rcDuplicate         = C.TASKER_ERR_DUPLICATE
	rcConflict          = C.TASKER_ERR_CONFLICT
	rcInvalidTransition = C.TASKER_ERR_INVALID_TRANSITION
	rcStaleClaim        = C.TASKER_ERR_STALE_CLAIM
	rcNotReady          = C.TASKER_ERR_NOT_READY
	rcTimeout           = C.TASKER_ERR_TIMEOUT
	rcDatabase          = C.TASKER_ERR_DATABASE
	rcInternal          = C.TASKER_ERR_INTERNAL
	rcABI               = C.TASKER_ERR_ABI
	rcInvalidHandle     = C.TASKER_ERR_INVALID_HANDLE
	rcNotInitialized    = C.TASKER_ERR_NOT_INITIALIZED
	rcShutdown          = C.TASKER_ERR_SHUTDOWN

	abiVersion = C.TASKER_ABI_VERSION
)

func main() {}

// tasker_abi_version returns the ABI version; callers refuse another one.
//
//export tasker_abi_version
func tasker_abi_version() C.int { return abiVersion }
