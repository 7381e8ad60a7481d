-- name: StepsInsert
INSERT INTO tasker_workflow_steps (task_id, task_namespace_id, named_step_id, retryable, retry_limit, pending_parents, priority)
SELECT $1, ns.task_namespace_id, s.named_step_id, s.retryable, s.retry_limit, s.pending_parents, $6
  FROM unnest($2::bigint[], $3::boolean[], $4::int[], $5::int[])
       AS s(named_step_id, retryable, retry_limit, pending_parents)
 CROSS JOIN (SELECT nt.task_namespace_id
               FROM tasker_tasks t
               JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
              WHERE t.task_id = $1) ns
RETURNING workflow_step_id, named_step_id;

-- name: EdgesInsert
INSERT INTO tasker_workflow_step_edges (from_step_id, to_step_id)
SELECT * FROM unnest($1::bigint[], $2::bigint[]);

-- name: StepExpiredLeaseTasks
-- Tasks with a step whose lease expired, from the lease index (steps in
-- progress only).
SELECT DISTINCT task_id
  FROM (SELECT task_id
          FROM tasker_workflow_steps
         WHERE status = 'in_progress' AND lease_expires_at < now()
         ORDER BY lease_expires_at
         LIMIT $1) expired;

-- name: StepRecoverExpiredLeases
-- A step of task $1 whose worker stopped heartbeating goes back to the ready
-- set when it has attempts left (its lost attempt counts), else to error.
-- The caller holds the task lock.
UPDATE tasker_workflow_steps ws
   SET status = CASE WHEN ws.retryable AND ws.attempts < ws.retry_limit THEN 'waiting_for_retry' ELSE 'error' END,
       next_retry_at = CASE WHEN ws.retryable AND ws.attempts < ws.retry_limit THEN now() END,
       last_error = jsonb_build_object('class', 'LeaseExpired',
                                       'message', format('lease of worker %s expired at %s', ws.claim_owner, ws.lease_expires_at)),
       in_process = false, claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL,
       updated_at = now()
 WHERE ws.task_id = $1 AND ws.status = 'in_progress' AND ws.lease_expires_at < now()
RETURNING ws.workflow_step_id, ws.task_id, ws.status;

-- name: StepAncestorResults
-- The results of the ancestors of step $1 named in $2, at any depth. The
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
     WHERE me.workflow_step_id = $1 AND s.name = ANY ($2::text[])
), walk (generation, found) AS (
    SELECT ARRAY[$1::bigint], '{}'::bigint[]
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
SELECT s.name, coalesce(ws.results, 'null'::json)
  FROM (SELECT DISTINCT unnest(w.found) AS id FROM walk w) f
  JOIN tasker_workflow_steps ws ON ws.workflow_step_id = f.id
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id;

-- name: StepClaimState
-- A step's name, state and claim token ('' when unclaimed), without a lock:
-- for read-only calls made on behalf of a claim.
SELECT s.name, ws.status, coalesce(ws.claim_token::text, '')
  FROM tasker_workflow_steps ws
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
 WHERE ws.workflow_step_id = $1;

-- name: StepLock
SELECT ws.workflow_step_id, ws.task_id, s.name, ws.status, coalesce(ws.claim_token::text, ''),
       coalesce(ws.claim_owner, ''), ws.attempts, ws.retryable, ws.retry_limit,
       ws.pending_parents, ws.next_retry_at, ws.ready_at IS NOT NULL AND ws.ready_at <= now()
  FROM tasker_workflow_steps ws
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
 WHERE ws.workflow_step_id = $1
   FOR UPDATE OF ws;

-- name: StepHeartbeat
UPDATE tasker_workflow_steps
   SET lease_expires_at = now() + $3 * interval '1 millisecond', updated_at = now()
 WHERE workflow_step_id = $1 AND claim_token = $2::uuid AND status = 'in_progress'
RETURNING lease_expires_at;

-- name: StepStatus
SELECT status FROM tasker_workflow_steps WHERE workflow_step_id = $1;

-- name: StepComplete
UPDATE tasker_workflow_steps
   SET status = 'complete', results = $2, processed = true, processed_at = now(), in_process = false,
       claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL, next_retry_at = NULL,
       updated_at = now()
 WHERE workflow_step_id = $1 AND status = ANY ($3::text[]);

-- name: StepFail
-- $2 is the next status (waiting_for_retry or error); $3 the delay before the
-- next attempt in milliseconds, for waiting_for_retry.
UPDATE tasker_workflow_steps
   SET status = $2::text,
       next_retry_at = CASE WHEN $2::text = 'waiting_for_retry' THEN now() + $3 * interval '1 millisecond' END,
       backoff_request_seconds = $4,
       last_error = $5,
       in_process = false, claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL,
       updated_at = now()
 WHERE workflow_step_id = $1 AND status = ANY ($6::text[])
RETURNING next_retry_at;

-- name: StepRelease
UPDATE tasker_workflow_steps
   SET status = 'pending', attempts = greatest(attempts - 1, 0), in_process = false,
       claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL, updated_at = now()
 WHERE workflow_step_id = $1 AND status = ANY ($2::text[]);

-- name: StepResolve
UPDATE tasker_workflow_steps
   SET status = 'resolved_manually', results = coalesce($2, results), processed = true, processed_at = now(),
       in_process = false, claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL,
       next_retry_at = NULL, updated_at = now()
 WHERE workflow_step_id = $1 AND status = ANY ($3::text[]);

-- name: StepChildrenRelease
-- A parent finished: each child has one parent fewer to wait for.
UPDATE tasker_workflow_steps ws
   SET pending_parents = ws.pending_parents - 1, updated_at = now()
  FROM tasker_workflow_step_edges e
 WHERE e.from_step_id = $1 AND ws.workflow_step_id = e.to_step_id;

-- name: StepsCancelForTask
UPDATE tasker_workflow_steps
   SET status = 'cancelled', in_process = false, processed = true, processed_at = now(),
       claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL, next_retry_at = NULL,
       updated_at = now()
 WHERE task_id = $1 AND status = ANY ($2::text[]);

-- name: StepsRetryForTask
UPDATE tasker_workflow_steps
   SET status = 'pending', attempts = 0, next_retry_at = NULL, backoff_request_seconds = NULL,
       last_error = NULL, in_process = false, processed = false, updated_at = now()
 WHERE task_id = $1 AND status = 'error';

-- name: StepUnmetParents
SELECT s.name
  FROM tasker_workflow_step_edges e
  JOIN tasker_workflow_steps p ON p.workflow_step_id = e.from_step_id
  JOIN tasker_named_steps s ON s.named_step_id = p.named_step_id
 WHERE e.to_step_id = $1 AND p.status NOT IN ('complete', 'resolved_manually')
 ORDER BY s.name;

-- name: StepsForTask
SELECT ws.workflow_step_id, ws.task_id, s.name, ntns.handler_name, ws.status, ntns.depends_on,
       ws.retryable, ws.retry_limit, ws.attempts, ws.in_process, ws.processed, ws.processed_at,
       ws.last_attempted_at, ws.backoff_request_seconds, ws.next_retry_at, ws.results, ws.last_error,
       CASE
           WHEN ws.last_attempted_at IS NULL THEN NULL
           WHEN ws.status = 'in_progress' THEN (extract(epoch FROM now() - ws.last_attempted_at) * 1000)::bigint
           WHEN ws.processed_at IS NOT NULL AND ws.processed_at >= ws.last_attempted_at
               THEN (extract(epoch FROM ws.processed_at - ws.last_attempted_at) * 1000)::bigint
           ELSE (extract(epoch FROM ws.updated_at - ws.last_attempted_at) * 1000)::bigint
       END
  FROM tasker_workflow_steps ws
  JOIN tasker_tasks t ON t.task_id = ws.task_id
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
  JOIN tasker_named_tasks_named_steps ntns
    ON ntns.named_task_id = t.named_task_id AND ntns.named_step_id = ws.named_step_id
 WHERE ws.task_id = $1
 ORDER BY ntns.position;

-- name: StepReadiness
SELECT workflow_step_id, task_id, named_step_id, name, current_state, dependencies_satisfied, retry_eligible,
       ready_for_execution, last_failure_at, next_retry_at, total_parents, completed_parents, attempts,
       retry_limit, backoff_request_seconds, last_attempted_at
  FROM get_step_readiness_status($1, $2);

-- name: DependencyLevels
SELECT workflow_step_id, dependency_level FROM calculate_dependency_levels($1);

-- The dispatcher's statements (core/dispatcher through engine/dispatch.go):
-- set-based, so a flush of many reports costs a few statements.

-- name: StepDispatchReady
-- Claims up to $2 ready steps of the namespaces $1 for worker $3 and starts
-- their pending tasks (skipping tasks locked right now: a claim never waits
-- for a task lock, and the first report starts a skipped task).
WITH candidates AS (
    SELECT ws.workflow_step_id
      FROM tasker_workflow_steps ws
     WHERE ws.ready_at <= now()
       AND ws.task_namespace_id = ANY (ARRAY(
             SELECT n.task_namespace_id FROM tasker_task_namespaces n WHERE n.name = ANY ($1::text[])))
     ORDER BY ws.priority DESC, ws.ready_at, ws.workflow_step_id
     LIMIT $2
       FOR UPDATE OF ws SKIP LOCKED
), claimed AS (
    UPDATE tasker_workflow_steps ws
       SET status = 'in_progress', in_process = true, attempts = ws.attempts + 1, last_attempted_at = now(),
           claim_owner = $3, claim_token = gen_random_uuid(),
           lease_expires_at = now() + $4 * interval '1 millisecond', updated_at = now()
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

-- name: StepDispatchReadyAny
-- As StepDispatchReady, in every namespace ($1 unused), from
-- index_workflow_steps_ready.
WITH candidates AS (
    SELECT ws.workflow_step_id
      FROM tasker_workflow_steps ws
     WHERE ws.ready_at <= now() AND cardinality($1::text[]) = 0
     ORDER BY ws.priority DESC, ws.ready_at, ws.workflow_step_id
     LIMIT $2
       FOR UPDATE OF ws SKIP LOCKED
), claimed AS (
    UPDATE tasker_workflow_steps ws
       SET status = 'in_progress', in_process = true, attempts = ws.attempts + 1, last_attempted_at = now(),
           claim_owner = $3, claim_token = gen_random_uuid(),
           lease_expires_at = now() + $4 * interval '1 millisecond', updated_at = now()
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

-- name: StepDispatchByIDs
-- Claims the given steps for worker $2 when they are ready (the children a
-- flush just made ready, or the one step of ClaimStep) and starts their
-- pending tasks, as StepDispatchReady does.
WITH claimed AS (
    UPDATE tasker_workflow_steps ws
       SET status = 'in_progress', in_process = true, attempts = ws.attempts + 1, last_attempted_at = now(),
           claim_owner = $2, claim_token = gen_random_uuid(),
           lease_expires_at = now() + $3 * interval '1 millisecond', updated_at = now()
     WHERE ws.workflow_step_id = ANY ($1::bigint[]) AND ws.ready_at <= now()
    RETURNING ws.workflow_step_id, ws.task_id
), started AS (
    UPDATE tasker_tasks t SET status = 'in_progress', updated_at = now()
      FROM (SELECT p.task_id FROM tasker_tasks p
             WHERE p.task_id IN (SELECT task_id FROM claimed) AND p.status = 'pending'
               FOR UPDATE OF p SKIP LOCKED) pending
     WHERE t.task_id = pending.task_id
)
SELECT workflow_step_id FROM claimed;

-- name: StepsClaimedNow
-- What an executor needs to run each step worker $1 claimed in this
-- transaction with a lease of $2 milliseconds: its task's context, its
-- handler and config, and its direct parents' results (other ancestors'
-- results are read on request, so a long chain's claims stay small).
-- now() is the transaction's start, so every claim of the transaction set
-- exactly this lease_expires_at: the lease index finds them, and the claim
-- and this read travel in one round trip.
SELECT ws.workflow_step_id, ws.task_id, n.name, nt.name, nt.version, s.name,
       ntns.handler_name, ntns.handler_config, t.context, ws.inputs,
       ws.attempts, ws.retry_limit, ws.retryable, ws.claim_token::text, ws.lease_expires_at,
       coalesce(ntns.timeout_seconds, 0),
       (SELECT coalesce(json_object_agg(ps.name, coalesce(p.results, 'null'::json)), '{}'::json)
          FROM tasker_workflow_step_edges e
          JOIN tasker_workflow_steps p ON p.workflow_step_id = e.from_step_id
          JOIN tasker_named_steps ps ON ps.named_step_id = p.named_step_id
         WHERE e.to_step_id = ws.workflow_step_id)
  FROM tasker_workflow_steps ws
  JOIN tasker_tasks t ON t.task_id = ws.task_id
  JOIN tasker_named_tasks nt ON nt.named_task_id = t.named_task_id
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
  JOIN tasker_named_tasks_named_steps ntns
    ON ntns.named_task_id = t.named_task_id AND ntns.named_step_id = ws.named_step_id
 WHERE ws.status = 'in_progress' AND ws.lease_expires_at = now() + $2 * interval '1 millisecond'
   AND ws.claim_owner = $1
 ORDER BY ws.priority DESC, ws.workflow_step_id;

-- name: StepsLockMany
-- Locks reported steps, in id order (their tasks are locked first).
SELECT ws.workflow_step_id, ws.task_id, s.name, ws.status, coalesce(ws.claim_token::text, ''),
       ws.attempts, ws.retryable, ws.retry_limit
  FROM tasker_workflow_steps ws
  JOIN tasker_named_steps s ON s.named_step_id = ws.named_step_id
 WHERE ws.workflow_step_id = ANY ($1::bigint[])
 ORDER BY ws.workflow_step_id
   FOR UPDATE OF ws;

-- name: StepsCompleteMany
-- $2 holds each step's results as text, stored byte for byte (json).
UPDATE tasker_workflow_steps ws
   SET status = 'complete', results = u.results::json, processed = true, processed_at = now(), in_process = false,
       claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL, next_retry_at = NULL,
       updated_at = now()
  FROM unnest($1::bigint[], $2::text[]) AS u(id, results)
 WHERE ws.workflow_step_id = u.id AND ws.status = 'in_progress'
RETURNING ws.workflow_step_id;

-- name: StepsFailMany
-- Each failed step goes to its $2 status (waiting_for_retry after $3
-- milliseconds, or error) with its requested backoff $4 and error $5.
UPDATE tasker_workflow_steps ws
   SET status = u.status,
       next_retry_at = CASE WHEN u.status = 'waiting_for_retry' THEN now() + u.delay_ms * interval '1 millisecond' END,
       backoff_request_seconds = u.backoff, last_error = u.last_error,
       in_process = false, claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL,
       updated_at = now()
  FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::float8[], $5::jsonb[])
       AS u(id, status, delay_ms, backoff, last_error)
 WHERE ws.workflow_step_id = u.id AND ws.status = 'in_progress'
RETURNING ws.workflow_step_id, ws.next_retry_at;

-- name: StepsReleaseMany
-- Claimed steps a worker gives back unrun: pending again at once, the
-- claim's attempt given back.
UPDATE tasker_workflow_steps
   SET status = 'pending', attempts = greatest(attempts - 1, 0), in_process = false,
       claim_owner = NULL, claim_token = NULL, lease_expires_at = NULL, updated_at = now()
 WHERE workflow_step_id = ANY ($1::bigint[]) AND status = 'in_progress'
RETURNING workflow_step_id;

-- name: StepChildrenReleaseMany
-- Parents finished: each child waits for that many parents fewer. Returns
-- each child and whether it is ready now.
UPDATE tasker_workflow_steps ws
   SET pending_parents = ws.pending_parents - c.n, updated_at = now()
  FROM (SELECT e.to_step_id, count(*)::int AS n
          FROM tasker_workflow_step_edges e
         WHERE e.from_step_id = ANY ($1::bigint[])
         GROUP BY e.to_step_id) c
 WHERE ws.workflow_step_id = c.to_step_id
RETURNING ws.workflow_step_id, ws.task_id, coalesce(ws.ready_at <= now(), false);

-- name: StepsHeartbeatMany
-- Extends the leases of running steps whose tokens still hold; returns
-- those.
UPDATE tasker_workflow_steps ws
   SET lease_expires_at = now() + $3 * interval '1 millisecond'
  FROM unnest($1::bigint[], $2::uuid[]) AS u(id, token)
 WHERE ws.workflow_step_id = u.id AND ws.claim_token = u.token AND ws.status = 'in_progress'
RETURNING ws.workflow_step_id;

-- name: StepsNeedAnalyze
-- Whether the planner's statistics of the steps table lag far behind it: a
-- backlog inserted faster than autovacuum analyzes turns the claim into a
-- scan and sort (34 ms instead of 0.3 ms at 20,000 ready steps).
SELECT coalesce(n_mod_since_analyze > greatest(1000, 0.1 * n_live_tup), false)
  FROM pg_stat_user_tables
 WHERE relid = 'tasker_workflow_steps'::regclass;
