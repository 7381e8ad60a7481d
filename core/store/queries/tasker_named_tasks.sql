-- name: NamespaceUpsert :one
INSERT INTO tasker_task_namespaces (name) VALUES (@name)
ON CONFLICT (name) DO UPDATE SET updated_at = tasker_task_namespaces.updated_at
RETURNING task_namespace_id;

-- name: NamedTaskInsert :one
INSERT INTO tasker_named_tasks (task_namespace_id, name, version, description, identity_strategy, configuration, shape_hash)
VALUES (@task_namespace_id, @name, @version, @description, @identity_strategy, @configuration, @shape_hash)
ON CONFLICT (task_namespace_id, name, version) DO NOTHING
RETURNING named_task_id;

-- name: NamedTaskGet :one
SELECT nt.named_task_id, nt.shape_hash, nt.configuration
  FROM tasker_named_tasks nt
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
 WHERE n.name = @namespace AND nt.name = @name AND nt.version = @version;

-- name: NamedTaskVersions :many
SELECT nt.version
  FROM tasker_named_tasks nt
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
 WHERE n.name = @namespace AND nt.name = @name;

-- name: NamedStepsUpsert :many
INSERT INTO tasker_named_steps (name)
SELECT unnest(@names::text[])
ON CONFLICT (name) DO UPDATE SET updated_at = tasker_named_steps.updated_at
RETURNING named_step_id, name;

-- name: NamedTaskStepsInsert :exec
-- ROWS FROM (unnest(a), unnest(b), ...) is unnest(a, b, ...) in the form
-- sqlc's catalog knows. A timeout of 0 is none (NULL): sqlc types an int[]
-- parameter as []int32, and the template checker refuses 0.
INSERT INTO tasker_named_tasks_named_steps
       (named_task_id, named_step_id, position, handler_name, handler_config, depends_on, default_retryable, default_retry_limit,
        timeout_seconds)
SELECT @named_task_id, s.named_step_id, s.position, s.handler_name, s.handler_config::jsonb, string_to_array(s.depends_on, ','), s.retryable, s.retry_limit,
       nullif(s.timeout_seconds, 0)
  FROM ROWS FROM (unnest(@named_step_ids::bigint[]), unnest(@positions::int[]), unnest(@handler_names::text[]),
                  unnest(@handler_configs::text[]), unnest(@depends_on::text[]), unnest(@retryable::boolean[]),
                  unnest(@retry_limits::int[]), unnest(@timeout_seconds::int[]))
       AS s(named_step_id, position, handler_name, handler_config, depends_on, retryable, retry_limit, timeout_seconds);

-- name: NamedTaskSteps :many
SELECT ntns.named_step_id, s.name
  FROM tasker_named_tasks_named_steps ntns
  JOIN tasker_named_steps s ON s.named_step_id = ntns.named_step_id
 WHERE ntns.named_task_id = @named_task_id;

-- name: NamedTaskIDsMatching :many
-- The templates of a namespace, optionally of one name and version ('' for
-- any), for list filters.
SELECT nt.named_task_id
  FROM tasker_named_tasks nt
  JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id
 WHERE n.name = @namespace
   AND (@name::text = '' OR nt.name = @name::text)
   AND (@version::text = '' OR nt.version = @version::text)
 ORDER BY nt.named_task_id;
