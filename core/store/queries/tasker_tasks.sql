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

-- name: TasksLockForPurge :many
-- Locks the tasks to purge in task_id order, as every statement locking
-- several tasks does (TasksLockForSteps), so a purge never deadlocks a flush
-- of reports; returns the ids that exist.
SELECT task_id
  FROM tasker_tasks
 WHERE task_id = ANY (@task_ids::bigint[])
 ORDER BY task_id
   FOR UPDATE;

-- name: TasksLockAllForPurge :many
-- TasksLockForPurge for every task.
SELECT task_id
  FROM tasker_tasks
 ORDER BY task_id
   FOR UPDATE;

-- name: TasksDelete :execrows
-- Deletes tasks for good: their steps and the steps' edges go by ON DELETE
-- CASCADE, every transition row by the delete triggers of migration 004.
DELETE FROM tasker_tasks WHERE task_id = ANY (@task_ids::bigint[]);

-- name: LockHolders :many
-- Who a statement that gave up on lock_timeout was probably waiting for:
-- the other sessions of this database holding, in an open transaction,
-- locks on tasker_* tables that block the engine's reads or writes (any
-- but the AccessShareLock of a plain SELECT), longest-open first, with the
-- strongest lock each holds on each table.
WITH held AS (
    SELECT l.pid, c.relname::text AS relname,
           max(array_position(ARRAY['RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock',
                                    'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock']::text[], l.mode::text)) AS strength
      FROM pg_catalog.pg_locks l
      JOIN pg_catalog.pg_class c ON c.oid = l.relation
     WHERE l.granted AND l.locktype = 'relation' AND l.mode <> 'AccessShareLock'
       AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database())
       AND c.relkind IN ('r', 'p') AND c.relname LIKE 'tasker\_%'
       AND l.pid <> pg_backend_pid()
     GROUP BY l.pid, c.relname
)
SELECT a.pid::int AS pid, coalesce(a.application_name, '')::text AS application_name,
       coalesce(a.state, '')::text AS state, a.xact_start::timestamptz AS xact_start,
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8 AS transaction_age,
       left(coalesce(a.query, ''), 300)::text AS query,
       array_agg((ARRAY['RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock',
                        'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock']::text[])[h.strength]
                 || ' on ' || h.relname ORDER BY h.strength DESC, h.relname)::text[] AS locks
  FROM held h
  JOIN pg_catalog.pg_stat_activity a ON a.pid = h.pid
 WHERE a.xact_start IS NOT NULL
 GROUP BY a.pid, a.application_name, a.state, a.xact_start, a.query
 ORDER BY a.xact_start
 LIMIT @max_holders;
-- name: TaskList :many
-- A page of tasks newest first below before_task_id, filtered by age
-- (milliseconds, none when NULL): a backward walk of the primary key, or of
-- index_tasks_on_requested_at when the age bound is narrow.
SELECT t.task_id, n.name AS namespace, nt.name, nt.version, t.status, t.priority, t.requested_at, t.updated_at,
       t.completed_at
  FROM tasker_tasks t
  JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
 WHERE t.task_id < @before_task_id
   AND (sqlc.narg(older_than_ms)::bigint IS NULL
        OR t.requested_at < now() - sqlc.narg(older_than_ms)::bigint * interval '1 millisecond')
   AND (sqlc.narg(newer_than_ms)::bigint IS NULL
        OR t.requested_at >= now() - sqlc.narg(newer_than_ms)::bigint * interval '1 millisecond')
 ORDER BY t.task_id DESC
 LIMIT @max_tasks;

-- name: TaskListByTemplate :many
-- TaskList for tasks of the given templates: one walk of
-- index_tasks_on_named_task_id_and_task_id per template, merged by id.
SELECT t.task_id, n.name AS namespace, nt.name, nt.version, t.status, t.priority, t.requested_at, t.updated_at,
       t.completed_at
  FROM unnest(@named_task_ids::bigint[]) AS x(named_task_id)
 CROSS JOIN LATERAL (
       SELECT tk.task_id
         FROM tasker_tasks tk
        WHERE tk.named_task_id = x.named_task_id AND tk.task_id < @before_task_id
          AND (sqlc.narg(older_than_ms)::bigint IS NULL
               OR tk.requested_at < now() - sqlc.narg(older_than_ms)::bigint * interval '1 millisecond')
          AND (sqlc.narg(newer_than_ms)::bigint IS NULL
               OR tk.requested_at >= now() - sqlc.narg(newer_than_ms)::bigint * interval '1 millisecond')
        ORDER BY tk.task_id DESC
        LIMIT @max_tasks) m
  JOIN tasker_tasks t ON t.task_id = m.task_id
  JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
 ORDER BY t.task_id DESC
 LIMIT @max_tasks;
