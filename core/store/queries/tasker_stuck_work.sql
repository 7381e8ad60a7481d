-- name: StuckWorkReplace :exec
-- Makes the table hold exactly these findings (one entry per finding, step
-- id 0 for a task finding): findings no longer made are deleted, new ones
-- inserted, and the rest keep first_seen_at. Only the maintenance leader
-- writes, under its advisory lock.
WITH found AS (
    SELECT f.kind, f.task_id, nullif(f.step_id, 0) AS step_id, f.reason, f.details::jsonb AS details
      FROM ROWS FROM (unnest(@kinds::text[]), unnest(@task_ids::bigint[]), unnest(@step_ids::bigint[]),
                      unnest(@reasons::text[]), unnest(@details::text[])) AS f(kind, task_id, step_id, reason, details)
), gone AS (
    DELETE FROM tasker_stuck_work w
     WHERE NOT EXISTS (SELECT 1 FROM found f
                        WHERE f.kind = w.kind AND f.task_id = w.task_id
                          AND coalesce(f.step_id, 0) = coalesce(w.workflow_step_id, 0))
)
INSERT INTO tasker_stuck_work (kind, task_id, workflow_step_id, reason, details)
SELECT f.kind, f.task_id, f.step_id, f.reason, f.details FROM found f
ON CONFLICT (kind, task_id, (coalesce(workflow_step_id, 0)))
DO UPDATE SET reason = excluded.reason, details = excluded.details, last_seen_at = now();

-- name: StuckWorkFirstSeen :many
-- When each recorded finding was first seen.
SELECT kind, task_id, coalesce(workflow_step_id, 0)::bigint AS step_id, first_seen_at
  FROM tasker_stuck_work;

-- name: StuckWorkCounts :many
SELECT kind, count(*)::bigint AS findings
  FROM tasker_stuck_work
 GROUP BY kind;
