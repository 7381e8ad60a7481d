-- tasker_task_requests: the outbox of task requests (migration 007). Callers
-- insert rows on their own connection; the engine reads and marks them here.

-- name: TaskRequestInsert :one
-- What the gem runs on the application's connection (it writes the SQL
-- itself, on ActiveRecord or ruby-pg); Go tests insert through it too.
INSERT INTO tasker_task_requests (request) VALUES (@request::json)
RETURNING task_request_id;

-- name: TaskRequestsLockPending :many
-- Takes up to max_requests pending requests, oldest first, skipping those
-- another take-up holds: each row goes to one transaction at a time.
SELECT task_request_id, request, attempts
  FROM tasker_task_requests
 WHERE status = 'pending'
 ORDER BY task_request_id
 LIMIT @max_requests
   FOR UPDATE SKIP LOCKED;

-- name: TaskRequestResolve :exec
-- A taken request became task_id (created) or found it (duplicate).
UPDATE tasker_task_requests
   SET status = @status::text, task_id = @task_id::bigint, error = NULL, processed_at = now()
 WHERE task_request_id = @task_request_id;

-- name: TaskRequestFail :exec
UPDATE tasker_task_requests
   SET status = 'failed', error = @error::jsonb, attempts = attempts + 1, processed_at = now()
 WHERE task_request_id = @task_request_id;

-- name: TaskRequestDefer :exec
-- A transient error: the request stays pending and is taken up again.
UPDATE tasker_task_requests
   SET error = @error::jsonb, attempts = attempts + 1
 WHERE task_request_id = @task_request_id;

-- name: TaskRequestGet :one
SELECT task_request_id, status, request,
       coalesce(request->>'namespace', '')::text AS namespace, coalesce(request->>'name', '')::text AS name,
       coalesce(request->>'version', '')::text AS version,
       task_id, error, attempts, requested_at, processed_at
  FROM tasker_task_requests
 WHERE task_request_id = @task_request_id;

-- name: TaskRequestsList :many
-- A page of requests of one status ('' for every status), oldest first.
SELECT task_request_id, status, request,
       coalesce(request->>'namespace', '')::text AS namespace, coalesce(request->>'name', '')::text AS name,
       coalesce(request->>'version', '')::text AS version,
       task_id, error, attempts, requested_at, processed_at
  FROM tasker_task_requests
 WHERE (@status::text = '' OR status = @status::text)
   AND task_request_id > @after_id::bigint
 ORDER BY task_request_id
 LIMIT @max_requests;

-- name: TaskRequestLock :one
SELECT status FROM tasker_task_requests WHERE task_request_id = @task_request_id FOR UPDATE;

-- name: TaskRequestRetry :exec
-- A failed request is pending again, its attempts reset; its error stays
-- until it is taken up. The trigger wakes the take-up at commit.
UPDATE tasker_task_requests
   SET status = 'pending', attempts = 0, processed_at = NULL
 WHERE task_request_id = @task_request_id;

-- name: TaskRequestsPrune :execrows
-- Deletes up to max_requests requests that became (or found) a task more
-- than older_than_seconds ago; failed ones stay until retried or deleted.
DELETE FROM tasker_task_requests
 WHERE task_request_id IN (
       SELECT r.task_request_id FROM tasker_task_requests r
        WHERE r.status IN ('created', 'duplicate')
          AND r.processed_at < now() - make_interval(secs => @older_than_seconds::float8)
        ORDER BY r.processed_at
        LIMIT @max_requests
          FOR UPDATE SKIP LOCKED);
