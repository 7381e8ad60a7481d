-- name: TaskInsert :one
INSERT INTO tasker_tasks (named_task_id, context, initiator, source_system, reason, tags, identity_hash, priority)
VALUES (@named_task_id, @context, @initiator, @source_system, @reason, @tags, @identity_hash, @priority)
ON CONFLICT (identity_hash) DO NOTHING
RETURNING task_id;

-- name: TaskIDByIdentity :one
SELECT task_id FROM tasker_tasks WHERE identity_hash = @identity_hash;

-- name: TaskLock :one
SELECT t.task_id, t.status, t.named_task_id
  FROM tasker_tasks t
 WHERE t.task_id = @task_id
   FOR UPDATE;

-- name: TaskLockForStep :one
-- Locks the task of a step (not the step): reports lock the task first.
SELECT t.task_id, t.status, t.named_task_id
  FROM tasker_tasks t
 WHERE t.task_id = (SELECT ws.task_id FROM tasker_workflow_steps ws WHERE ws.workflow_step_id = @step_id)
   FOR UPDATE OF t;

-- name: TaskLockSkipLocked :one
SELECT t.task_id, t.status, t.named_task_id
  FROM tasker_tasks t
 WHERE t.task_id = @task_id
   FOR UPDATE SKIP LOCKED;

-- name: TaskSetStatus :one
UPDATE tasker_tasks
   SET status = @status::text,
       complete = (@status::text = 'complete'),
       completed_at = CASE WHEN @status::text = 'complete' THEN now() ELSE completed_at END,
       updated_at = now()
 WHERE task_id = @task_id AND status = ANY (@from_statuses::text[])
RETURNING status;

-- name: TaskGet :one
SELECT t.task_id, n.name AS namespace, nt.name, nt.version, t.status, t.complete, t.context, t.tags,
       coalesce(t.initiator, '') AS initiator, coalesce(t.source_system, '') AS source_system,
       coalesce(t.reason, '') AS reason,
       t.priority, t.requested_at, t.completed_at
  FROM tasker_tasks t
  JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
 WHERE t.task_id = @task_id;

-- name: TaskStepCounts :one
SELECT count(*)::int AS total,
       count(*) FILTER (WHERE status IN ('complete', 'resolved_manually'))::int AS done,
       count(*) FILTER (WHERE status = 'error')::int AS failed,
       count(*) FILTER (WHERE status IN ('in_progress', 'waiting_for_retry') OR ready_at IS NOT NULL)::int AS active
  FROM tasker_workflow_steps
 WHERE task_id = @task_id;

-- name: TaskExecutionContext :one
-- Each column is named through the function's alias and cast to the type the
-- function declares (a no-op): sqlc cannot see a table function's columns.
SELECT c.task_id::bigint AS task_id, c.named_task_id::bigint AS named_task_id, c.status::text AS status,
       c.total_steps::int AS total_steps, c.pending_steps::int AS pending_steps,
       c.in_progress_steps::int AS in_progress_steps, c.completed_steps::int AS completed_steps,
       c.failed_steps::int AS failed_steps, c.waiting_for_retry_steps::int AS waiting_for_retry_steps,
       c.ready_steps::int AS ready_steps, c.permanently_blocked_steps::int AS permanently_blocked_steps,
       c.execution_status::text AS execution_status, c.recommended_action::text AS recommended_action,
       c.completion_percentage::float8 AS completion_percentage, c.health_status::text AS health_status
  FROM get_task_execution_context(@task_id) c;

-- name: TaskExists :one
SELECT EXISTS (SELECT 1 FROM tasker_tasks WHERE task_id = @task_id);

-- name: Ping :exec
-- A round trip to the server that waits sleep_ms milliseconds there: a health check
-- (0) and a way to prove callers do not block each other while they wait.
SELECT pg_sleep(sqlc.arg(sleep_ms)::float8 / 1000);

-- name: TasksLockForSteps :many
-- Locks the tasks of the given steps in task_id order, so flushes of many
-- reports never deadlock each other or single reports.
SELECT t.task_id, t.status, t.named_task_id
  FROM tasker_tasks t
 WHERE t.task_id IN (SELECT ws.task_id FROM tasker_workflow_steps ws WHERE ws.workflow_step_id = ANY (@step_ids::bigint[]))
 ORDER BY t.task_id
   FOR UPDATE OF t;

-- name: TaskStepCountsMany :many
-- TaskStepCounts for many tasks at once.
SELECT task_id,
       count(*)::int AS total,
       count(*) FILTER (WHERE status IN ('complete', 'resolved_manually'))::int AS done,
       count(*) FILTER (WHERE status = 'error')::int AS failed,
       count(*) FILTER (WHERE status IN ('in_progress', 'waiting_for_retry') OR ready_at IS NOT NULL)::int AS active
  FROM tasker_workflow_steps
 WHERE task_id = ANY (@task_ids::bigint[])
 GROUP BY task_id;

-- name: TasksSetStatusMany :many
-- TaskSetStatus for many tasks; returns the tasks it moved.
UPDATE tasker_tasks
   SET status = @status::text,
       complete = (@status::text = 'complete'),
       completed_at = CASE WHEN @status::text = 'complete' THEN now() ELSE completed_at END,
       updated_at = now()
 WHERE task_id = ANY (@task_ids::bigint[]) AND status = ANY (@from_statuses::text[])
RETURNING task_id;

-- name: StepsReadyNotify :exec
-- Wakes the workers of namespace (their producers LISTEN).
SELECT pg_notify('tasker_steps_ready', @namespace::text);

-- name: LeaderTryLock :one
-- Transaction advisory lock: one process runs a maintenance round at a time.
-- It ends with the transaction, so no lock outlives its holder even when a
-- pooler (PgBouncer in transaction mode) hands the connection to another
-- client next.
SELECT pg_try_advisory_xact_lock(@key::bigint);
