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
//  *     or tasker_dispatcher_fail (tasker_dispatcher_complete_next also hands
//  *     back the next step), and TASKER_ERR_SHUTDOWN tells them to exit;
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
//
// /* tasker_dispatcher_complete_next writes its outcome into an int64_t array
//  * of TASKER_OUTCOME_LEN slots, indexed by these: */
// #define TASKER_OUTCOME_LEN              7
// #define TASKER_OUTCOME_WORKFLOW_STEP_ID 0
// #define TASKER_OUTCOME_TASK_ID          1
// #define TASKER_OUTCOME_STATUS           2 /* a TASKER_STEP_* */
// #define TASKER_OUTCOME_ATTEMPTS         3
// #define TASKER_OUTCOME_NEXT_RETRY_AT_MS 4 /* Unix ms; 0 = none */
// #define TASKER_OUTCOME_TASK_STATUS      5 /* a TASKER_TASK_* */
// #define TASKER_OUTCOME_NEXT             6 /* a TASKER_NEXT_* */
//
// #define TASKER_STEP_PENDING             1
// #define TASKER_STEP_IN_PROGRESS         2
// #define TASKER_STEP_WAITING_FOR_RETRY   3
// #define TASKER_STEP_COMPLETE            4
// #define TASKER_STEP_ERROR               5
// #define TASKER_STEP_CANCELLED           6
// #define TASKER_STEP_RESOLVED_MANUALLY   7
//
// #define TASKER_TASK_PENDING             1
// #define TASKER_TASK_IN_PROGRESS         2
// #define TASKER_TASK_COMPLETE            3
// #define TASKER_TASK_ERROR               4
// #define TASKER_TASK_CANCELLED           5
// #define TASKER_TASK_RESOLVED_MANUALLY   6
//
// #define TASKER_NEXT_NONE                0 /* not asked, or no step ready at once */
// #define TASKER_NEXT_STEP                1 /* *next_out holds a ClaimedStep's JSON */
// #define TASKER_NEXT_SHUTDOWN            2 /* quiet or stopped: as TASKER_ERR_SHUTDOWN from _next */
import "C"

import tt "github.com/tasker-systems/tasker-core-go/core/taskertype"

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

// The outcome array of tasker_dispatcher_complete_next, from the #defines
// above.
const (
	outcomeLen            = C.TASKER_OUTCOME_LEN
	outcomeWorkflowStepID = C.TASKER_OUTCOME_WORKFLOW_STEP_ID
	outcomeTaskID         = C.TASKER_OUTCOME_TASK_ID
	outcomeStatus         = C.TASKER_OUTCOME_STATUS
	outcomeAttempts       = C.TASKER_OUTCOME_ATTEMPTS
	outcomeNextRetryAtMS  = C.TASKER_OUTCOME_NEXT_RETRY_AT_MS
	outcomeTaskStatus     = C.TASKER_OUTCOME_TASK_STATUS
	outcomeNext           = C.TASKER_OUTCOME_NEXT

	nextStateNone     = C.TASKER_NEXT_NONE
	nextStateStep     = C.TASKER_NEXT_STEP
	nextStateShutdown = C.TASKER_NEXT_SHUTDOWN
)

// stepStateCodes and taskStateCodes are the TASKER_STEP_* and TASKER_TASK_*
// codes of an outcome (every state has one: TestOutcomeCodes).
var (
	stepStateCodes = map[tt.StepState]int64{
		tt.StepPending: C.TASKER_STEP_PENDING, tt.StepInProgress: C.TASKER_STEP_IN_PROGRESS,
		tt.StepWaitingForRetry: C.TASKER_STEP_WAITING_FOR_RETRY, tt.StepComplete: C.TASKER_STEP_COMPLETE,
		tt.StepError: C.TASKER_STEP_ERROR, tt.StepCancelled: C.TASKER_STEP_CANCELLED,
		tt.StepResolvedManually: C.TASKER_STEP_RESOLVED_MANUALLY,
	}
	taskStateCodes = map[tt.TaskState]int64{
		tt.TaskPending: C.TASKER_TASK_PENDING, tt.TaskInProgress: C.TASKER_TASK_IN_PROGRESS,
		tt.TaskComplete: C.TASKER_TASK_COMPLETE, tt.TaskError: C.TASKER_TASK_ERROR,
		tt.TaskCancelled: C.TASKER_TASK_CANCELLED, tt.TaskResolvedManually: C.TASKER_TASK_RESOLVED_MANUALLY,
	}
)

func main() {}

// tasker_abi_version returns the ABI version; callers refuse another one.
//
//export tasker_abi_version
func tasker_abi_version() C.int { return abiVersion }
