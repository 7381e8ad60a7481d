-- A task's current state is its most_recent transition row, indexed by
-- index_task_transitions_current_state (migration 009); tasker_tasks.status
-- has no index, so its updates stay HOT.

-- name: TaskListByState :many
-- A page of tasks in the given states, newest first, below before_task_id:
-- one walk of the current-state index per state, each stopping after
-- max_tasks matches of the other filters (templates: none when empty; age
-- bounds in milliseconds: none when NULL), merged by id.
SELECT t.task_id, n.name AS namespace, nt.name, nt.version, t.status, t.priority, t.requested_at, t.updated_at,
       t.completed_at
  FROM unnest(@states::text[]) AS s(state)
 CROSS JOIN LATERAL (
       SELECT tr.task_id
         FROM tasker_task_transitions tr
         JOIN tasker_tasks tk ON tk.task_id = tr.task_id
        WHERE tr.most_recent AND tr.to_state = s.state AND tr.task_id < @before_task_id
          AND (cardinality(@named_task_ids::bigint[]) = 0 OR tk.named_task_id = ANY (@named_task_ids::bigint[]))
          AND (sqlc.narg(older_than_ms)::bigint IS NULL
               OR tk.requested_at < now() - sqlc.narg(older_than_ms)::bigint * interval '1 millisecond')
          AND (sqlc.narg(newer_than_ms)::bigint IS NULL
               OR tk.requested_at >= now() - sqlc.narg(newer_than_ms)::bigint * interval '1 millisecond')
        ORDER BY tr.task_id DESC
        LIMIT @max_tasks) m
  JOIN tasker_tasks t ON t.task_id = m.task_id
  JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
 ORDER BY t.task_id DESC
 LIMIT @max_tasks;

-- name: TaskCountsByState :many
-- Tasks in each of the given states, one range of the current-state index
-- per state (a grouped count would read the whole transitions table).
SELECT s.state::text AS state,
       (SELECT count(*) FROM tasker_task_transitions tr WHERE tr.most_recent AND tr.to_state = s.state)::bigint AS tasks
  FROM unnest(@states::text[]) AS s(state);

-- name: OpenStepCounts :many
-- The steps of unfinished tasks (pending, in_progress, error) by state: the
-- work left and what blocks it, read through those tasks, so finished
-- history costs nothing.
SELECT ws.status::text AS state, count(*)::bigint AS steps
  FROM tasker_task_transitions tr
  JOIN tasker_workflow_steps ws ON ws.task_id = tr.task_id
 WHERE tr.most_recent AND tr.to_state IN ('pending', 'in_progress', 'error')
 GROUP BY ws.status;

-- name: StuckTasks :many
-- Pending or in-progress tasks none of whose steps is running, waiting for a
-- retry or ready, with their steps counted by what holds them (the reason
-- is built from the counts). The unfinished tasks come from the
-- current-state index; each costs one probe of its steps.
SELECT t.task_id, n.name AS namespace, nt.name, nt.version, t.status,
       c.total, c.done, c.failed, c.cancelled, c.pending_in_process, c.pending_processed, c.parents_done_uncounted
  FROM tasker_task_transitions tr
  JOIN tasker_tasks t ON t.task_id = tr.task_id
  JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
 CROSS JOIN LATERAL (
       SELECT count(*)::int AS total,
              count(*) FILTER (WHERE ws.status IN ('complete', 'resolved_manually'))::int AS done,
              count(*) FILTER (WHERE ws.status = 'error')::int AS failed,
              count(*) FILTER (WHERE ws.status = 'cancelled')::int AS cancelled,
              count(*) FILTER (WHERE ws.status = 'pending' AND ws.in_process)::int AS pending_in_process,
              count(*) FILTER (WHERE ws.status = 'pending' AND ws.processed)::int AS pending_processed,
              coalesce(sum(CASE WHEN ws.status = 'pending' AND ws.pending_parents > 0
                                 AND NOT EXISTS (SELECT 1
                                                   FROM tasker_workflow_step_edges e
                                                   JOIN tasker_workflow_steps p ON p.workflow_step_id = e.from_step_id
                                                  WHERE e.to_step_id = ws.workflow_step_id
                                                    AND p.status NOT IN ('complete', 'resolved_manually'))
                                THEN 1 ELSE 0 END), 0)::int AS parents_done_uncounted
         FROM tasker_workflow_steps ws
        WHERE ws.task_id = tr.task_id) c
 WHERE tr.most_recent AND tr.to_state IN ('pending', 'in_progress')
   AND NOT EXISTS (SELECT 1 FROM tasker_workflow_steps a
                    WHERE a.task_id = tr.task_id
                      AND (a.status IN ('in_progress', 'waiting_for_retry') OR a.ready_at IS NOT NULL))
 ORDER BY t.task_id
 LIMIT @max_findings;

-- name: TaskTransitionsForTask :many
-- A task's own transitions, oldest first (the (task_id, sort_key) key).
SELECT from_state, to_state, metadata, sort_key, created_at
  FROM tasker_task_transitions
 WHERE task_id = @task_id
 ORDER BY sort_key
 LIMIT @max_rows;
