-- name: TaskInsert
INSERT INTO tasker_tasks (named_task_id, context, initiator, source_system, reason, tags, identity_hash, priority)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (identity_hash) DO NOTHING
RETURNING task_id;

-- name: TaskIDByIdentity
SELECT task_id FROM tasker_tasks WHERE identity_hash = $1;

-- name: TaskLock
SELECT t.task_id, t.status, t.named_task_id
  FROM tasker_tasks t
 WHERE t.task_id = $1
   FOR UPDATE;

-- name: TaskLockForStep
-- Locks the task of a step (not the step): reports lock the task first.
SELECT t.task_id, t.status, t.named_task_id
  FROM tasker_tasks t
 WHERE t.task_id = (SELECT ws.task_id FROM tasker_workflow_steps ws WHERE ws.workflow_step_id = $1)
   FOR UPDATE OF t;

-- name: TaskLockSkipLocked
SELECT t.task_id, t.status, t.named_task_id
  FROM tasker_tasks t
 WHERE t.task_id = $1
   FOR UPDATE SKIP LOCKED;

-- name: TaskSetStatus
UPDATE tasker_tasks
   SET status = $2::text,
       complete = ($2::text = 'complete'),
       completed_at = CASE WHEN $2::text = 'complete' THEN now() ELSE completed_at END,
       updated_at = now()
 WHERE task_id = $1 AND status = ANY ($3::text[])
RETURNING status;

-- name: TaskGet
SELECT t.task_id, n.name, nt.name, nt.version, t.status, t.complete, t.context, t.tags,
       coalesce(t.initiator, ''), coalesce(t.source_system, ''), coalesce(t.reason, ''),
       t.priority, t.requested_at, t.completed_at
  FROM tasker_tasks t
  JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
 WHERE t.task_id = $1;

-- name: TaskStepCounts
SELECT count(*)::int,
       count(*) FILTER (WHERE status IN ('complete', 'resolved_manually'))::int,
       count(*) FILTER (WHERE status = 'error')::int,
       count(*) FILTER (WHERE status IN ('in_progress', 'waiting_for_retry') OR ready_at IS NOT NULL)::int
  FROM tasker_workflow_steps
 WHERE task_id = $1;

-- name: TaskExecutionContext
SELECT task_id, named_task_id, status, total_steps, pending_steps, in_progress_steps, completed_steps,
       failed_steps, waiting_for_retry_steps, ready_steps, permanently_blocked_steps, execution_status,
       recommended_action, completion_percentage::float8, health_status
  FROM get_task_execution_context($1);

-- name: TaskExists
SELECT EXISTS (SELECT 1 FROM tasker_tasks WHERE task_id = $1);

-- name: Ping
-- A round trip to the server that waits $1 milliseconds there: a health check
-- (0) and a way to prove callers do not block each other while they wait.
SELECT pg_sleep($1::float8 / 1000);

-- name: TasksLockForSteps
-- Locks the tasks of the given steps in task_id order, so flushes of many
-- reports never deadlock each other or single reports.
SELECT t.task_id, t.status, t.named_task_id
  FROM tasker_tasks t
 WHERE t.task_id IN (SELECT ws.task_id FROM tasker_workflow_steps ws WHERE ws.workflow_step_id = ANY ($1::bigint[]))
 ORDER BY t.task_id
   FOR UPDATE OF t;

-- name: TaskStepCountsMany
-- TaskStepCounts for many tasks at once.
SELECT task_id,
       count(*)::int,
       count(*) FILTER (WHERE status IN ('complete', 'resolved_manually'))::int,
       count(*) FILTER (WHERE status = 'error')::int,
       count(*) FILTER (WHERE status IN ('in_progress', 'waiting_for_retry') OR ready_at IS NOT NULL)::int
  FROM tasker_workflow_steps
 WHERE task_id = ANY ($1::bigint[])
 GROUP BY task_id;

-- name: TasksSetStatusMany
-- TaskSetStatus for many tasks; returns the tasks it moved.
UPDATE tasker_tasks
   SET status = $2::text,
       complete = ($2::text = 'complete'),
       completed_at = CASE WHEN $2::text = 'complete' THEN now() ELSE completed_at END,
       updated_at = now()
 WHERE task_id = ANY ($1::bigint[]) AND status = ANY ($3::text[])
RETURNING task_id;

-- name: StepsReadyNotify
-- Wakes the workers of namespace $1 (their producers LISTEN).
SELECT pg_notify('tasker_steps_ready', $1::text);

-- name: LeaderTryLock
-- Session advisory lock: one process runs a maintenance round at a time.
SELECT pg_try_advisory_lock($1::bigint);

-- name: LeaderUnlock
SELECT pg_advisory_unlock($1::bigint);
