-- name: StepsInsert :many
INSERT INTO tasker_workflow_steps (task_id, task_namespace_id, named_step_id, retryable, retry_limit, pending_parents, priority)
SELECT @task_id::bigint, ns.task_namespace_id, s.named_step_id, s.retryable, s.retry_limit, s.pending_parents,
       @priority::int
  FROM ROWS FROM (unnest(@named_step_ids::bigint[]), unnest(@retryable::boolean[]), unnest(@retry_limits::int[]),
                  unnest(@pending_parents::int[]))
       AS s(named_step_id, retryable, retry_limit, pending_parents)
 CROSS JOIN (SELECT nt.task_namespace_id
               FROM tasker_tasks t
               JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
              WHERE t.task_id = @task_id::bigint) ns
RETURNING workflow_step_id, named_step_id;

-- name: EdgesInsert :exec
INSERT INTO tasker_workflow_step_edges (from_step_id, to_step_id)
SELECT e.from_step_id, e.to_step_id
  FROM ROWS FROM (unnest(@from_step_ids::bigint[]), unnest(@to_step_ids::bigint[])) AS e(from_step_id, to_step_id);

-- name: StepExpiredLeaseTasks :many
-- Tasks with a step whose lease expired, from the lease index (steps in
-- progress only).
SELECT DISTINCT task_id
  FROM (SELECT task_id
          FROM tasker_workflow_steps
         WHERE status = 'in_progress' AND lease_expires_at < now()
         ORDER BY lease_expires_at
         LIMIT @max_steps) expired;

-- name: StepRecoverExpiredLeases :many
-- A step of task task_id whose worker stopped heartbeating goes back to the ready
-- set when it has attempts left (its lost attempt counts), else to error.
-- The caller holds the task lock.
UPDATE tasker_workflow_steps ws
   SET status = CASE WHEN ws.retryable AND ws.attempts < ws.retry_limit THEN 'waiting_for_retry' ELSE 'error' END,
       next_retry_at = CASE WHEN ws.retryable AND ws.attempts < ws.retry_limit THEN now() END,
       last_error = jsonb_build_object('class', 'LeaseExpired',
                                       'message', format('lease of worker %s expired at %s', ws.claim_owner, ws.lease_expires_at)),
       in_process = false, claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL,
       updated_at = now()
 WHERE ws.task_id = @task_id AND ws.status = 'in_progress' AND ws.lease_expires_at < now()
RETURNING ws.workflow_step_id, ws.task_id, ws.status;

-- name: StepAncestorResults :many
-- The results of the ancestors of step step_id named in names, at any depth. The
-- names become steps of the same task (targets); the walk then climbs the
-- edges one generation per iteration, the whole generation in one row (each
-- step's parents by one index lookup), and stops as soon as every target was
-- reached or no generation is left: a step at the end of a long chain asking
-- for its grandparent reads two generations, not the chain. A name that is
-- no ancestor has no row.
WITH RECURSIVE targets AS (
    SELECT ws.workflow_step_id AS id
      FROM tasker_workflow_steps me
      JOIN tasker_workflow_steps ws ON ws.task_id = me.task_id
      JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
     WHERE me.workflow_step_id = @step_id AND s.name = ANY (@names::text[])
), walk (generation, found) AS (
    SELECT ARRAY[@step_id::bigint], '{}'::bigint[]
    UNION ALL
    SELECT up.ids, w.found || ARRAY(SELECT unnest(up.ids) INTERSECT SELECT id FROM targets
                                    EXCEPT SELECT unnest(w.found))
      FROM walk w
     CROSS JOIN LATERAL (
           SELECT ARRAY(SELECT DISTINCT p.id
                          FROM unnest(w.generation) AS c(id),
                               unnest(ARRAY(SELECT e.from_step_id FROM tasker_workflow_step_edges e
                                             WHERE e.to_step_id = c.id)) AS p(id)) AS ids
           OFFSET 0) up
     WHERE cardinality(w.generation) > 0
       AND cardinality(w.found) < (SELECT count(*) FROM targets)
)
SELECT s.name, coalesce(ws.results, 'null'::json) AS results
  FROM (SELECT DISTINCT unnest(w.found) AS id FROM walk w) f
  JOIN tasker_workflow_steps ws ON ws.workflow_step_id = f.id
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id;

-- name: StepClaimState :one
-- A step's name, state and claim token ('' when unclaimed), without a lock:
-- for read-only calls made on behalf of a claim.
SELECT s.name, ws.status, coalesce(ws.claim_token::text, '')::text AS claim_token
  FROM tasker_workflow_steps ws
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
 WHERE ws.workflow_step_id = @step_id;

-- name: StepLock :one
SELECT ws.workflow_step_id, ws.task_id, s.name, ws.status, coalesce(ws.claim_token::text, '')::text AS claim_token,
       coalesce(ws.claim_owner, '') AS claim_owner, ws.attempts, ws.retryable, ws.retry_limit,
       ws.pending_parents, ws.next_retry_at, ws.ready_at IS NOT NULL AND ws.ready_at <= now() AS ready_now
  FROM tasker_workflow_steps ws
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
 WHERE ws.workflow_step_id = @step_id
   FOR UPDATE OF ws;

-- name: StepHeartbeat :one
UPDATE tasker_workflow_steps
   SET lease_expires_at = now() + sqlc.arg(lease_ms)::float8 * interval '1 millisecond', updated_at = now()
 WHERE workflow_step_id = @step_id AND claim_token = sqlc.arg(claim_token)::text::uuid AND status = 'in_progress'
RETURNING lease_expires_at;

-- name: StepStatus :one
SELECT status FROM tasker_workflow_steps WHERE workflow_step_id = @step_id;

-- name: StepComplete :execrows
UPDATE tasker_workflow_steps
   SET status = 'complete', results = @results, processed = true, processed_at = now(), in_process = false,
       claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL, next_retry_at = NULL,
       updated_at = now()
 WHERE workflow_step_id = @step_id AND status = ANY (@from_statuses::text[]);

-- name: StepFail :one
-- status is the next status (waiting_for_retry or error); delay_ms the delay
-- before the next attempt in milliseconds, for waiting_for_retry.
UPDATE tasker_workflow_steps
   SET status = @status::text,
       next_retry_at = CASE WHEN @status::text = 'waiting_for_retry' THEN now() + sqlc.arg(delay_ms)::float8 * interval '1 millisecond' END,
       backoff_request_seconds = @backoff_seconds,
       last_error = @last_error,
       in_process = false, claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL,
       updated_at = now()
 WHERE workflow_step_id = @step_id AND status = ANY (@from_statuses::text[])
RETURNING next_retry_at;

-- name: StepRelease :execrows
UPDATE tasker_workflow_steps
   SET status = 'pending', attempts = greatest(attempts - 1, 0), in_process = false,
       claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL, updated_at = now()
 WHERE workflow_step_id = @step_id AND status = ANY (@from_statuses::text[]);

-- name: StepResolve :execrows
UPDATE tasker_workflow_steps
   SET status = 'resolved_manually', results = coalesce(@results, results), processed = true, processed_at = now(),
       in_process = false, claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL,
       next_retry_at = NULL, updated_at = now()
 WHERE workflow_step_id = @step_id AND status = ANY (@from_statuses::text[]);

-- name: StepChildrenRelease :exec
-- A parent finished: each child has one parent fewer to wait for.
UPDATE tasker_workflow_steps ws
   SET pending_parents = ws.pending_parents - 1, updated_at = now()
  FROM tasker_workflow_step_edges e
 WHERE e.from_step_id = @step_id AND ws.workflow_step_id = e.to_step_id;

-- name: StepsCancelForTask :exec
UPDATE tasker_workflow_steps
   SET status = 'cancelled', in_process = false, processed = true, processed_at = now(),
       claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL, next_retry_at = NULL,
       updated_at = now()
 WHERE task_id = @task_id AND status = ANY (@from_statuses::text[]);

-- name: StepsRetryForTask :execrows
UPDATE tasker_workflow_steps
   SET status = 'pending', attempts = 0, next_retry_at = NULL, backoff_request_seconds = NULL,
       last_error = NULL, in_process = false, processed = false, updated_at = now()
 WHERE task_id = @task_id AND status = 'error';

-- name: StepUnmetParents :many
SELECT s.name
  FROM tasker_workflow_step_edges e
  JOIN tasker_workflow_steps p ON p.workflow_step_id = e.from_step_id
  JOIN tasker_named_steps s ON s.named_step_id = p.named_step_id
 WHERE e.to_step_id = @step_id AND p.status NOT IN ('complete', 'resolved_manually')
 ORDER BY s.name;

-- name: StepsForTask :many
SELECT ws.workflow_step_id, ws.task_id, s.name, ntns.handler_name, ws.status, ntns.depends_on,
       ws.retryable, ws.retry_limit, ws.attempts, ws.in_process, ws.processed, ws.processed_at,
       ws.last_attempted_at, ws.backoff_request_seconds, ws.next_retry_at, ws.results, ws.last_error,
       CASE
           WHEN ws.last_attempted_at IS NULL THEN NULL
           WHEN ws.status = 'in_progress' THEN (extract(epoch FROM now() - ws.last_attempted_at) * 1000)::bigint
           WHEN ws.processed_at IS NOT NULL AND ws.processed_at >= ws.last_attempted_at
               THEN (extract(epoch FROM ws.processed_at - ws.last_attempted_at) * 1000)::bigint
           ELSE (extract(epoch FROM ws.updated_at - ws.last_attempted_at) * 1000)::bigint
       END AS duration_ms
  FROM tasker_workflow_steps ws
  JOIN tasker_tasks t ON t.task_id = ws.task_id
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
  JOIN tasker_named_tasks_named_steps ntns
    ON ntns.named_task_id = t.named_task_id AND ntns.named_step_id = ws.named_step_id
 WHERE ws.task_id = @task_id
 ORDER BY ntns.position;

-- name: StepReadiness :many
-- Read by hand (StepReadiness in workflow_step.go): four of the function's
-- columns are nullable, which sqlc cannot know without a database.
-- Its columns are named through the function's alias with no-op casts, as
-- in DependencyLevels.
SELECT r.workflow_step_id::bigint AS workflow_step_id, r.task_id::bigint AS task_id,
       r.named_step_id::bigint AS named_step_id, r.name::text AS name, r.current_state::text AS current_state,
       r.dependencies_satisfied::boolean AS dependencies_satisfied, r.retry_eligible::boolean AS retry_eligible,
       r.ready_for_execution::boolean AS ready_for_execution, r.last_failure_at::timestamptz AS last_failure_at,
       r.next_retry_at::timestamptz AS next_retry_at, r.total_parents::int AS total_parents,
       r.completed_parents::int AS completed_parents, r.attempts::int AS attempts, r.retry_limit::int AS retry_limit,
       r.backoff_request_seconds::float8 AS backoff_request_seconds,
       r.last_attempted_at::timestamptz AS last_attempted_at
  FROM get_step_readiness_status(@task_id::bigint, sqlc.narg(step_ids)::bigint[]) r;

-- name: DependencyLevels :many
-- Each column is named through the function's alias and cast to the type the
-- function declares (a no-op): sqlc cannot see a table function's columns.
SELECT d.workflow_step_id::bigint AS workflow_step_id, d.dependency_level::int AS dependency_level
  FROM calculate_dependency_levels(@task_id) d;

-- The dispatcher's statements (core/dispatcher through engine/dispatch.go):
-- set-based, so a flush of many reports costs a few statements.

-- name: StepDispatchReady :many
-- Claims up to max_steps ready steps of the namespaces for worker_id and starts
-- their pending tasks (skipping tasks locked right now: a claim never waits
-- for a task lock, and the first report starts a skipped task). With
-- named_task_ids, only steps of tasks of those templates: a worker never
-- claims a template version it has no handler for (a rolling deploy). The
-- scan keeps the ready index's order; each candidate costs one probe of its
-- task's primary key. The filter is a correlated scalar subquery on purpose:
-- written as EXISTS, the planner hashed every task of the templates once
-- per claim (O(tasks), not O(steps claimed)).
WITH candidates AS (
    SELECT ws.workflow_step_id
      FROM tasker_workflow_steps ws
     WHERE ws.ready_at <= now()
       AND ws.task_namespace_id = ANY (ARRAY(
             SELECT n.task_namespace_id FROM tasker_task_namespaces n WHERE n.name = ANY (@namespaces::text[])))
       AND (cardinality(@named_task_ids::bigint[]) = 0
            OR (SELECT t.named_task_id FROM tasker_tasks t WHERE t.task_id = ws.task_id) = ANY (@named_task_ids::bigint[]))
     ORDER BY ws.priority DESC, ws.ready_at, ws.workflow_step_id
     LIMIT @max_steps
       FOR UPDATE OF ws SKIP LOCKED
), claimed AS (
    UPDATE tasker_workflow_steps ws
       SET status = 'in_progress', in_process = true, attempts = ws.attempts + 1, last_attempted_at = now(),
           claim_owner = @worker_id, claim_token = gen_random_uuid(),
           lease_expires_at = now() + sqlc.arg(lease_ms) * interval '1 millisecond', updated_at = now()
      FROM candidates c
     WHERE ws.workflow_step_id = c.workflow_step_id
    RETURNING ws.workflow_step_id, ws.task_id
), started AS (
    UPDATE tasker_tasks t SET status = 'in_progress', updated_at = now()
      FROM (SELECT p.task_id FROM tasker_tasks p
             WHERE p.task_id IN (SELECT task_id FROM claimed) AND p.status = 'pending'
               FOR UPDATE OF p SKIP LOCKED) pending
     WHERE t.task_id = pending.task_id
)
SELECT workflow_step_id FROM claimed;

-- name: StepDispatchReadyAny :many
-- As StepDispatchReady, in every namespace (namespaces empty), from
-- index_workflow_steps_ready.
WITH candidates AS (
    SELECT ws.workflow_step_id
      FROM tasker_workflow_steps ws
     WHERE ws.ready_at <= now() AND cardinality(@namespaces::text[]) = 0
     ORDER BY ws.priority DESC, ws.ready_at, ws.workflow_step_id
     LIMIT @max_steps
       FOR UPDATE OF ws SKIP LOCKED
), claimed AS (
    UPDATE tasker_workflow_steps ws
       SET status = 'in_progress', in_process = true, attempts = ws.attempts + 1, last_attempted_at = now(),
           claim_owner = @worker_id, claim_token = gen_random_uuid(),
           lease_expires_at = now() + sqlc.arg(lease_ms) * interval '1 millisecond', updated_at = now()
      FROM candidates c
     WHERE ws.workflow_step_id = c.workflow_step_id
    RETURNING ws.workflow_step_id, ws.task_id
), started AS (
    UPDATE tasker_tasks t SET status = 'in_progress', updated_at = now()
      FROM (SELECT p.task_id FROM tasker_tasks p
             WHERE p.task_id IN (SELECT task_id FROM claimed) AND p.status = 'pending'
               FOR UPDATE OF p SKIP LOCKED) pending
     WHERE t.task_id = pending.task_id
)
SELECT workflow_step_id FROM claimed;

-- name: StepDispatchByIDs :many
-- Claims the given steps for worker worker_id when they are ready (the children a
-- flush just made ready, or the one step of ClaimStep) and starts their
-- pending tasks, as StepDispatchReady does.
WITH claimed AS (
    UPDATE tasker_workflow_steps ws
       SET status = 'in_progress', in_process = true, attempts = ws.attempts + 1, last_attempted_at = now(),
           claim_owner = @worker_id, claim_token = gen_random_uuid(),
           lease_expires_at = now() + sqlc.arg(lease_ms) * interval '1 millisecond', updated_at = now()
     WHERE ws.workflow_step_id = ANY (@step_ids::bigint[]) AND ws.ready_at <= now()
    RETURNING ws.workflow_step_id, ws.task_id
), started AS (
    UPDATE tasker_tasks t SET status = 'in_progress', updated_at = now()
      FROM (SELECT p.task_id FROM tasker_tasks p
             WHERE p.task_id IN (SELECT task_id FROM claimed) AND p.status = 'pending'
               FOR UPDATE OF p SKIP LOCKED) pending
     WHERE t.task_id = pending.task_id
)
SELECT workflow_step_id FROM claimed;

-- name: StepsClaimedNow :many
-- What an executor needs to run each step worker_id claimed in this
-- transaction with a lease of lease_ms milliseconds: its task's context, its
-- handler and config, and its direct parents' results (other ancestors'
-- results are read on request, so a long chain's claims stay small).
-- now() is the transaction's start, so every claim of the transaction set
-- exactly this lease_expires_at: the lease index finds them, and the claim
-- and this read travel in one round trip.
SELECT ws.workflow_step_id, ws.task_id, n.name AS namespace, nt.name AS task_name, nt.version, s.name AS step_name,
       ntns.handler_name, ntns.handler_config, t.context, ws.inputs,
       ws.attempts, ws.retry_limit, ws.retryable, ws.claim_token::text AS claim_token, ws.lease_expires_at,
       coalesce(ntns.timeout_seconds, 0) AS timeout_seconds,
       (SELECT coalesce(json_object_agg(ps.name, coalesce(p.results, 'null'::json)), '{}'::json)
          FROM tasker_workflow_step_edges e
          JOIN tasker_workflow_steps p ON p.workflow_step_id = e.from_step_id
          JOIN tasker_named_steps ps ON ps.named_step_id = p.named_step_id
         WHERE e.to_step_id = ws.workflow_step_id)::json AS parents
  FROM tasker_workflow_steps ws
  JOIN tasker_tasks t ON t.task_id = ws.task_id
  JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
  JOIN tasker_named_tasks_named_steps ntns
    ON ntns.named_task_id = t.named_task_id AND ntns.named_step_id = ws.named_step_id
 WHERE ws.status = 'in_progress' AND ws.lease_expires_at = now() + sqlc.arg(lease_ms) * interval '1 millisecond'
   AND ws.claim_owner = @worker_id
 ORDER BY ws.priority DESC, ws.workflow_step_id;

-- name: StepsLockMany :many
-- Locks reported steps, in id order (their tasks are locked first).
SELECT ws.workflow_step_id, ws.task_id, s.name, ws.status, coalesce(ws.claim_token::text, '')::text AS claim_token,
       ws.attempts, ws.retryable, ws.retry_limit
  FROM tasker_workflow_steps ws
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
 WHERE ws.workflow_step_id = ANY (@step_ids::bigint[])
 ORDER BY ws.workflow_step_id
   FOR UPDATE OF ws;

-- name: StepsCompleteMany :many
-- results holds each step's results as text, stored byte for byte (json).
UPDATE tasker_workflow_steps ws
   SET status = 'complete', results = u.results::json, processed = true, processed_at = now(), in_process = false,
       claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL, next_retry_at = NULL,
       updated_at = now()
  FROM ROWS FROM (unnest(@step_ids::bigint[]), unnest(@results::text[])) AS u(id, results)
 WHERE ws.workflow_step_id = u.id AND ws.status = 'in_progress'
RETURNING ws.workflow_step_id;

-- name: StepsFailMany :many
-- Each failed step goes to its status (waiting_for_retry after delay_ms
-- milliseconds, or error) with its requested backoff (NULL where has_backoff
-- is false: an array of float8 cannot carry NULL to Go) and last_error.
UPDATE tasker_workflow_steps ws
   SET status = u.status,
       next_retry_at = CASE WHEN u.status = 'waiting_for_retry' THEN now() + u.delay_ms * interval '1 millisecond' END,
       backoff_request_seconds = CASE WHEN u.has_backoff THEN u.backoff END, last_error = u.last_error,
       in_process = false, claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL,
       updated_at = now()
  FROM ROWS FROM (unnest(@step_ids::bigint[]), unnest(@statuses::text[]), unnest(@delay_ms::bigint[]),
                  unnest(@backoffs::float8[]), unnest(@has_backoff::boolean[]), unnest(@last_errors::jsonb[]))
       AS u(id, status, delay_ms, backoff, has_backoff, last_error)
 WHERE ws.workflow_step_id = u.id AND ws.status = 'in_progress'
RETURNING ws.workflow_step_id, ws.next_retry_at;

-- name: StepsReleaseMany :many
-- Claimed steps a worker gives back unrun: pending again at once, the
-- claim's attempt given back.
UPDATE tasker_workflow_steps
   SET status = 'pending', attempts = greatest(attempts - 1, 0), in_process = false,
       claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL, updated_at = now()
 WHERE workflow_step_id = ANY (@step_ids::bigint[]) AND status = 'in_progress'
RETURNING workflow_step_id;

-- name: StepChildrenReleaseMany :many
-- Parents finished: each child waits for that many parents fewer. Returns
-- each child and whether it is ready now.
UPDATE tasker_workflow_steps ws
   SET pending_parents = ws.pending_parents - c.n, updated_at = now()
  FROM (SELECT e.to_step_id, count(*)::int AS n
          FROM tasker_workflow_step_edges e
         WHERE e.from_step_id = ANY (@parent_ids::bigint[])
         GROUP BY e.to_step_id) c
 WHERE ws.workflow_step_id = c.to_step_id
RETURNING ws.workflow_step_id, ws.task_id, coalesce(ws.ready_at <= now(), false)::boolean AS ready;

-- name: StepsHeartbeatMany :many
-- Extends the leases of running steps whose tokens still hold; returns
-- those.
UPDATE tasker_workflow_steps ws
   SET lease_expires_at = now() + sqlc.arg(lease_ms)::float8 * interval '1 millisecond'
  FROM ROWS FROM (unnest(@step_ids::bigint[]), unnest(sqlc.arg(claim_tokens)::text[]::uuid[])) AS u(id, token)
 WHERE ws.workflow_step_id = u.id AND ws.claim_token = u.token AND ws.status = 'in_progress'
RETURNING ws.workflow_step_id;

-- name: StepsNeedAnalyze :one
-- Whether the planner's statistics of the steps table lag far behind it: a
-- backlog inserted faster than autovacuum analyzes turns the claim into a
-- scan and sort (34 ms instead of 0.3 ms at 20,000 ready steps).
-- The counters pg_stat_user_tables shows as n_mod_since_analyze and
-- n_live_tup, read from their functions (sqlc's catalog lacks the view).
SELECT coalesce(pg_stat_get_mod_since_analyze('tasker_workflow_steps'::regclass)
                > greatest(1000, 0.1 * pg_stat_get_live_tuples('tasker_workflow_steps'::regclass)), false)::boolean AS stale;

-- name: StepsLockForPurge :one
-- Locks every step of the tasks being purged, so no worker claims one while
-- the purge decides (claims skip locked steps), and counts them.
WITH locked AS MATERIALIZED (
    SELECT ws.workflow_step_id
      FROM tasker_workflow_steps ws
     WHERE ws.task_id = ANY (@task_ids::bigint[])
     ORDER BY ws.workflow_step_id
       FOR UPDATE
)
SELECT count(*)::bigint FROM locked;

-- name: StepsHeld :many
-- The steps of the tasks that a worker holds (claimed, lease not expired),
-- the first max_listed of them, each row with how many there are in all.
SELECT ws.task_id, ws.workflow_step_id, s.name, coalesce(ws.claim_owner, '')::text AS claim_owner,
       ws.lease_expires_at::timestamptz AS lease_expires_at, (count(*) OVER ())::int AS total
  FROM tasker_workflow_steps ws
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
 WHERE ws.task_id = ANY (@task_ids::bigint[]) AND ws.status = 'in_progress' AND ws.lease_expires_at > now()
 ORDER BY ws.task_id, ws.workflow_step_id
 LIMIT @max_listed;
-- The operations surface's reads (migration 009).

-- name: StepsReadySummary :one
-- Steps that may be claimed now and since when the oldest has waited, from
-- index_workflow_steps_ready; oldest_seconds is -1 when none is ready.
SELECT count(*)::bigint AS ready, coalesce(extract(epoch FROM now() - min(ready_at)), -1)::float8 AS oldest_seconds,
       now()::timestamptz AS now
  FROM tasker_workflow_steps
 WHERE ready_at <= now();

-- name: StuckSteps :many
-- Steps in progress past their lease (lease_expired) or, lease still held,
-- running past their timeout (the template's timeout_seconds, else
-- default_timeout_ms) plus grace_ms (past_timeout); from the lease index,
-- which holds the steps in progress only.
SELECT ws.workflow_step_id, ws.task_id, s.name AS step_name, n.name AS namespace, nt.name, nt.version,
       t.status AS task_status, coalesce(ws.claim_owner, '')::text AS claim_owner, ws.attempts,
       ws.last_attempted_at, ws.lease_expires_at, coalesce(ntns.timeout_seconds, 0)::int AS timeout_seconds,
       (ws.lease_expires_at < now())::boolean AS lease_expired,
       coalesce(extract(epoch FROM now() - ws.last_attempted_at), 0)::float8 AS running_seconds,
       coalesce(extract(epoch FROM now() - ws.lease_expires_at), 0)::float8 AS lease_overdue_seconds
  FROM tasker_workflow_steps ws
  JOIN tasker_tasks t ON t.task_id = ws.task_id
  JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
  JOIN tasker_named_tasks_named_steps ntns
    ON ntns.named_task_id = t.named_task_id AND ntns.named_step_id = ws.named_step_id
 WHERE ws.status = 'in_progress'
   AND (ws.lease_expires_at < now()
        OR ws.last_attempted_at
           + coalesce(ntns.timeout_seconds * interval '1 second', sqlc.arg(default_timeout_ms)::bigint * interval '1 millisecond')
           + sqlc.arg(grace_ms)::bigint * interval '1 millisecond' < now())
 ORDER BY ws.workflow_step_id
 LIMIT @max_findings;
