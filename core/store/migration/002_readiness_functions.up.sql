-- The readable definition of readiness. These functions recompute everything
-- from transitions and edges, as the original Tasker's did; the claim path
-- reads the incrementally maintained ready_at instead, and tests on random
-- DAGs prove both give the same answer.

-- One row per step of the task (or of the given steps only).
-- A step is ready_for_execution when:
--   its current state (most recent transition) is pending or waiting_for_retry,
--   it is neither processed nor in process,
--   every parent is complete or resolved_manually,
--   it is retry eligible: no attempt yet (the first attempt always runs), or
--     retryable with attempts < retry_limit,
--   and any retry backoff (next_retry_at) has passed.
CREATE FUNCTION get_step_readiness_status(input_task_id bigint, step_ids bigint[] DEFAULT NULL)
RETURNS TABLE (
    workflow_step_id        bigint,
    task_id                 bigint,
    named_step_id           bigint,
    name                    text,
    current_state           text,
    dependencies_satisfied  boolean,
    retry_eligible          boolean,
    ready_for_execution     boolean,
    last_failure_at         timestamptz,
    next_retry_at           timestamptz,
    total_parents           int,
    completed_parents       int,
    attempts                int,
    retry_limit             int,
    backoff_request_seconds double precision,
    last_attempted_at       timestamptz
) LANGUAGE sql STABLE AS $$
    WITH steps AS (
        SELECT ws.*
          FROM tasker_workflow_steps ws
         WHERE ws.task_id = input_task_id
           AND (step_ids IS NULL OR ws.workflow_step_id = ANY (step_ids))
    ), parents AS (
        SELECT e.to_step_id AS step_id,
               count(*)::int AS total,
               count(*) FILTER (WHERE ptr.to_state IN ('complete', 'resolved_manually'))::int AS done
          FROM tasker_workflow_step_edges e
          JOIN steps s ON s.workflow_step_id = e.to_step_id
          LEFT JOIN tasker_workflow_step_transitions ptr
            ON ptr.workflow_step_id = e.from_step_id AND ptr.most_recent
         GROUP BY e.to_step_id
    ), failures AS (
        SELECT tr.workflow_step_id, max(tr.created_at) AS failed_at
          FROM tasker_workflow_step_transitions tr
          JOIN steps s ON s.workflow_step_id = tr.workflow_step_id
         WHERE tr.to_state IN ('error', 'waiting_for_retry')
         GROUP BY tr.workflow_step_id
    ), flags AS (
        SELECT s.*,
               ns.name AS step_name,
               coalesce(tr.to_state, 'pending') AS state,
               coalesce(p.total, 0) AS total_parents,
               coalesce(p.done, 0) AS completed_parents,
               coalesce(p.total, 0) = coalesce(p.done, 0) AS deps_ok,
               (s.attempts = 0 OR (s.retryable AND s.attempts < s.retry_limit)) AS eligible,
               f.failed_at
          FROM steps s
          JOIN tasker_named_steps ns ON ns.named_step_id = s.named_step_id
          LEFT JOIN tasker_workflow_step_transitions tr
            ON tr.workflow_step_id = s.workflow_step_id AND tr.most_recent
          LEFT JOIN parents p ON p.step_id = s.workflow_step_id
          LEFT JOIN failures f ON f.workflow_step_id = s.workflow_step_id
    )
    SELECT f.workflow_step_id,
           f.task_id,
           f.named_step_id,
           f.step_name::text,
           f.state::text,
           f.deps_ok,
           f.eligible,
           f.state IN ('pending', 'waiting_for_retry')
               AND NOT f.processed
               AND NOT f.in_process
               AND f.deps_ok
               AND f.eligible
               AND (f.state = 'pending' OR f.next_retry_at IS NULL OR f.next_retry_at <= now()),
           f.failed_at,
           CASE WHEN f.state = 'waiting_for_retry' THEN f.next_retry_at END,
           f.total_parents,
           f.completed_parents,
           f.attempts,
           f.retry_limit,
           f.backoff_request_seconds,
           f.last_attempted_at
      FROM flags f
     ORDER BY f.workflow_step_id
$$;

-- One row summarising what the task can do next, from get_step_readiness_status.
-- execution_status, first match wins:
--   cancelled                 the task was cancelled
--   has_ready_steps           some step is ready
--   processing                some step is claimed and running
--   all_complete              every step is complete or resolved_manually
--   blocked_by_failures       some step is in error and nothing else can run
--   waiting_for_dependencies  otherwise: steps wait for a retry backoff
-- A step in error is permanently blocked: only an operator moves it on.
CREATE FUNCTION get_task_execution_context(input_task_id bigint)
RETURNS TABLE (
    task_id                   bigint,
    named_task_id             bigint,
    status                    text,
    total_steps               int,
    pending_steps             int,
    in_progress_steps         int,
    completed_steps           int,
    failed_steps              int,
    waiting_for_retry_steps   int,
    ready_steps               int,
    permanently_blocked_steps int,
    execution_status          text,
    recommended_action        text,
    completion_percentage     numeric,
    health_status             text
) LANGUAGE sql STABLE AS $$
    WITH counts AS (
        SELECT count(*)::int AS total,
               count(*) FILTER (WHERE r.current_state = 'pending')::int AS pending,
               count(*) FILTER (WHERE r.current_state = 'in_progress')::int AS in_progress,
               count(*) FILTER (WHERE r.current_state IN ('complete', 'resolved_manually'))::int AS completed,
               count(*) FILTER (WHERE r.current_state = 'error')::int AS failed,
               count(*) FILTER (WHERE r.current_state = 'waiting_for_retry')::int AS waiting,
               count(*) FILTER (WHERE r.ready_for_execution)::int AS ready
          FROM get_step_readiness_status(input_task_id) r
    ), ctx AS (
        SELECT t.task_id, t.named_task_id, t.status, c.*,
               CASE
                   WHEN t.status = 'cancelled' THEN 'cancelled'
                   WHEN c.ready > 0 THEN 'has_ready_steps'
                   WHEN c.in_progress > 0 THEN 'processing'
                   WHEN c.total > 0 AND c.completed = c.total THEN 'all_complete'
                   WHEN c.failed > 0 AND c.waiting = 0 THEN 'blocked_by_failures'
                   ELSE 'waiting_for_dependencies'
               END AS execution_status
          FROM tasker_tasks t CROSS JOIN counts c
         WHERE t.task_id = input_task_id
    )
    SELECT ctx.task_id, ctx.named_task_id, ctx.status::text,
           ctx.total, ctx.pending, ctx.in_progress, ctx.completed, ctx.failed, ctx.waiting, ctx.ready,
           ctx.failed,
           ctx.execution_status,
           CASE ctx.execution_status
               WHEN 'cancelled' THEN 'none'
               WHEN 'has_ready_steps' THEN 'execute_ready_steps'
               WHEN 'processing' THEN 'wait_for_completion'
               WHEN 'all_complete' THEN 'finalize_task'
               WHEN 'blocked_by_failures' THEN 'handle_failures'
               ELSE 'wait_for_dependencies'
           END,
           CASE WHEN ctx.total = 0 THEN 0
                ELSE round(ctx.completed::numeric / ctx.total * 100, 2) END,
           CASE
               WHEN ctx.failed = 0 THEN 'healthy'
               WHEN ctx.ready > 0 OR ctx.in_progress > 0 OR ctx.waiting > 0 THEN 'recovering'
               ELSE 'blocked'
           END
      FROM ctx
$$;

-- Each step's depth in the DAG: roots are level 0, a child is one deeper than
-- its deepest parent.
CREATE FUNCTION calculate_dependency_levels(input_task_id bigint)
RETURNS TABLE (workflow_step_id bigint, dependency_level int) LANGUAGE sql STABLE AS $$
    WITH RECURSIVE levels AS (
        SELECT ws.workflow_step_id, 0 AS level
          FROM tasker_workflow_steps ws
         WHERE ws.task_id = input_task_id
           AND NOT EXISTS (SELECT 1 FROM tasker_workflow_step_edges e WHERE e.to_step_id = ws.workflow_step_id)
        UNION
        SELECT e.to_step_id, l.level + 1
          FROM levels l
          JOIN tasker_workflow_step_edges e ON e.from_step_id = l.workflow_step_id
    )
    SELECT l.workflow_step_id, max(l.level)::int
      FROM levels l
     GROUP BY l.workflow_step_id
     ORDER BY 2, 1
$$;
