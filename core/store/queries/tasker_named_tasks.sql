-- name: NamespaceUpsert
INSERT INTO tasker_task_namespaces (name) VALUES ($1)
ON CONFLICT (name) DO UPDATE SET updated_at = tasker_task_namespaces.updated_at
RETURNING task_namespace_id;

-- name: NamedTaskInsert
INSERT INTO tasker_named_tasks (task_namespace_id, name, version, description, identity_strategy, configuration, shape_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (task_namespace_id, name, version) DO NOTHING
RETURNING named_task_id;

-- name: NamedTaskGet
SELECT nt.named_task_id, nt.shape_hash, nt.configuration
  FROM tasker_named_tasks nt
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
 WHERE n.name = $1 AND nt.name = $2 AND nt.version = $3;

-- name: NamedTaskVersions
SELECT nt.version
  FROM tasker_named_tasks nt
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
 WHERE n.name = $1 AND nt.name = $2;

-- name: NamedStepsUpsert
INSERT INTO tasker_named_steps (name)
SELECT unnest($1::text[])
ON CONFLICT (name) DO UPDATE SET updated_at = tasker_named_steps.updated_at
RETURNING named_step_id, name;

-- name: NamedTaskStepsInsert
INSERT INTO tasker_named_tasks_named_steps
       (named_task_id, named_step_id, position, handler_name, handler_config, depends_on, default_retryable, default_retry_limit,
        timeout_seconds)
SELECT $1, s.named_step_id, s.position, s.handler_name, s.handler_config::jsonb, string_to_array(s.depends_on, ','), s.retryable, s.retry_limit,
       s.timeout_seconds
  FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::int[], $9::int[])
       AS s(named_step_id, position, handler_name, handler_config, depends_on, retryable, retry_limit, timeout_seconds);

-- name: NamedTaskSteps
SELECT ntns.named_step_id, s.name
  FROM tasker_named_tasks_named_steps ntns
  JOIN tasker_named_steps s ON s.named_step_id = ntns.named_step_id
 WHERE ntns.named_task_id = $1;
