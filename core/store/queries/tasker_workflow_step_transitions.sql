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
