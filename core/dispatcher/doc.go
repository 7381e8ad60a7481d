// Package dispatcher runs one worker's share of the engine inside the
// process: River's producer, completer and rescuer, for executors that ask.
//
// Executors (Ruby processor threads through the C ABI, or goroutines in Go)
// block in Next, which returns the next step to run, and report through
// Complete or Fail, which return once the report is durable. Nothing in this
// package calls an executor: executors ask, the dispatcher answers.
//
//   - The producer claims only as many steps as there are executors waiting
//     in Next at that moment, so a worker never holds a backlog nobody runs.
//     It is woken by LISTEN/NOTIFY (channel tasker_steps_ready) and polls as
//     a fallback; behind PgBouncer it LISTENs only on the engine's direct
//     ListenURL, and without one it polls.
//   - The completer gathers the reports of every executor and records them
//     in one transaction per flush with set-based statements (group commit):
//     results, state changes, children's release, task finalization. Children
//     a flush makes ready are claimed in the same transaction for executors
//     waiting then (local handoff).
//   - A report that fails on a transient database error stays queued and is
//     retried with backoff until it is recorded or its claim is definitely
//     gone (stale): a result is never dropped while it could be recorded.
//   - The heartbeat extends the leases of every running step in one statement
//     per interval, and stops extending a step past its timeout_seconds: the
//     dispatcher then fails that attempt as a retryable timeout, which fences
//     any late result (stale_claim).
//   - The maintenance loop rescues expired leases of crashed workers under a
//     transaction advisory lock (one process does it per round), never inside
//     a claim.
//   - The intake turns task requests (rows applications wrote into
//     tasker_task_requests inside their own transactions) into tasks through
//     engine.TakeUpTaskRequests, woken by NOTIFY tasker_task_requests with the
//     producer's poll as a fallback, and prunes old ones (intake.go).
//
// An attempt counts when a step is handed to an executor: the producer claims
// only for executors already waiting, so the claim is that moment. A step
// claimed but not handed out (Quiet, Stop, or a Next that gave up) is released
// with its attempt given back.
package dispatcher
