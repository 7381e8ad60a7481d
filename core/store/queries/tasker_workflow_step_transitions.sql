-- name: StepThroughput :many
-- Step attempts finished per minute over the last minutes minutes (the
-- current, partial minute included): completions, and failed attempts
-- (retryable or not, lease expiries and timeouts included). The BRIN index
-- on created_at reads only the last minutes' pages.
SELECT date_trunc('minute', created_at)::timestamptz AS minute,
       count(*) FILTER (WHERE to_state = 'complete')::bigint AS completed,
       count(*) FILTER (WHERE to_state IN ('waiting_for_retry', 'error') AND from_state = 'in_progress')::bigint AS failed
  FROM tasker_workflow_step_transitions
 WHERE created_at >= date_trunc('minute', now()) - (sqlc.arg(minutes)::int - 1) * interval '1 minute'
   AND to_state IN ('complete', 'waiting_for_retry', 'error')
 GROUP BY 1
 ORDER BY 1;

-- name: StepTransitionsForTask :many
-- The transitions of a task's steps, newest first, at most max_rows: each
-- step's through the (workflow_step_id, sort_key) key.
SELECT tr.workflow_step_id, s.name AS step_name, tr.from_state, tr.to_state, tr.metadata, tr.sort_key, tr.created_at
  FROM tasker_workflow_steps ws
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
  JOIN tasker_workflow_step_transitions tr ON tr.workflow_step_id = ws.workflow_step_id
 WHERE ws.task_id = @task_id
 ORDER BY tr.created_at DESC, tr.id DESC
 LIMIT @max_rows;
