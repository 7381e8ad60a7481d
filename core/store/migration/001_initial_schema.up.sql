-- Tables of tasker-core, close to the original Tasker's so its users recognise
-- them. Readiness is maintained incrementally (pending_parents, ready_at) so
-- the claim path costs O(steps claimed); get_step_readiness_status in
-- 002_readiness_functions recomputes it from first principles and tests prove
-- the two agree.

CREATE TABLE tasker_task_namespaces (
    task_namespace_id bigserial PRIMARY KEY,
    name              varchar(64) NOT NULL UNIQUE,
    description       varchar(255),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tasker_named_tasks (
    named_task_id     bigserial PRIMARY KEY,
    task_namespace_id bigint NOT NULL REFERENCES tasker_task_namespaces,
    name              varchar(64) NOT NULL,
    version           varchar(64) NOT NULL,
    description       varchar(255),
    identity_strategy varchar(32) NOT NULL DEFAULT 'strict'
        CHECK (identity_strategy IN ('strict', 'caller_provided', 'always_unique')),
    -- The normalized template as registered; its hash decides whether a
    -- re-registration is a no-op or a conflict.
    configuration     jsonb NOT NULL,
    shape_hash        varchar(64) NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_namespace_id, name, version)
);

CREATE TABLE tasker_named_steps (
    named_step_id bigserial PRIMARY KEY,
    name          varchar(128) NOT NULL UNIQUE,
    description   varchar(255),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per step of a template: what the engine copies into each task.
CREATE TABLE tasker_named_tasks_named_steps (
    id                  bigserial PRIMARY KEY,
    named_task_id       bigint NOT NULL REFERENCES tasker_named_tasks ON DELETE CASCADE,
    named_step_id       bigint NOT NULL REFERENCES tasker_named_steps,
    position            int NOT NULL,
    handler_name        varchar(255) NOT NULL,
    handler_config      jsonb NOT NULL DEFAULT '{}',
    depends_on          text[] NOT NULL DEFAULT '{}',
    default_retryable   boolean NOT NULL DEFAULT true,
    default_retry_limit int NOT NULL DEFAULT 3,
    UNIQUE (named_task_id, named_step_id)
);

CREATE TABLE tasker_tasks (
    task_id       bigserial PRIMARY KEY,
    named_task_id bigint NOT NULL REFERENCES tasker_named_tasks,
    -- Mirrors the most recent row of tasker_task_transitions; the trigger below
    -- writes that row whenever this column changes.
    status        varchar(32) NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'in_progress', 'complete', 'error', 'cancelled', 'resolved_manually')),
    complete      boolean NOT NULL DEFAULT false,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    initiator     varchar(128),
    source_system varchar(128),
    reason        varchar(128),
    tags          jsonb NOT NULL DEFAULT '[]',
    context       jsonb NOT NULL DEFAULT '{}',
    identity_hash varchar(128) NOT NULL,
    priority      int NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX index_tasks_on_identity_hash ON tasker_tasks (identity_hash);
CREATE INDEX index_tasks_on_named_task_id ON tasker_tasks (named_task_id);
CREATE INDEX index_tasks_unfinished ON tasker_tasks (status) WHERE NOT complete;

CREATE TABLE tasker_workflow_steps (
    workflow_step_id        bigserial PRIMARY KEY,
    task_id                 bigint NOT NULL REFERENCES tasker_tasks ON DELETE CASCADE,
    named_step_id           bigint NOT NULL REFERENCES tasker_named_steps,
    -- The task's namespace, copied so a worker's claim in its namespaces
    -- reads only that namespace's ready steps.
    task_namespace_id       bigint NOT NULL REFERENCES tasker_task_namespaces,
    status                  varchar(32) NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'in_progress', 'waiting_for_retry', 'complete', 'error', 'cancelled', 'resolved_manually')),
    retryable               boolean NOT NULL DEFAULT true,
    retry_limit             int NOT NULL DEFAULT 3,
    attempts                int NOT NULL DEFAULT 0,
    in_process              boolean NOT NULL DEFAULT false,
    processed               boolean NOT NULL DEFAULT false,
    processed_at            timestamptz,
    last_attempted_at       timestamptz,
    backoff_request_seconds double precision,
    -- When a step waiting_for_retry may run again (failure time + backoff).
    next_retry_at           timestamptz,
    inputs                  jsonb NOT NULL DEFAULT '{}',
    -- json, not jsonb: results are kept byte for byte as the handler gave
    -- them (1.0e300 stays a float, key order and \u0000 survive).
    results                 json,
    last_error              jsonb,
    -- Parents not yet complete or resolved_manually: the incremental half of
    -- readiness, decremented as each parent finishes.
    pending_parents         int NOT NULL DEFAULT 0 CHECK (pending_parents >= 0),
    priority                int NOT NULL DEFAULT 0,
    claim_owner             varchar(255),
    claim_token             uuid,
    lease_expires_at        timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    -- The time from which the step may be claimed, NULL when it may not be.
    -- Being derived, it can never disagree with the columns it reads.
    ready_at                timestamptz GENERATED ALWAYS AS (
        CASE
            WHEN pending_parents = 0 AND NOT in_process AND NOT processed AND status = 'pending'
                THEN created_at
            WHEN pending_parents = 0 AND NOT in_process AND NOT processed AND status = 'waiting_for_retry'
                THEN next_retry_at
        END
    ) STORED
);
CREATE INDEX index_workflow_steps_on_task_id ON tasker_workflow_steps (task_id);
-- The claim path: only claimable steps are in this index, so finished steps
-- never slow it down.
CREATE INDEX index_workflow_steps_ready ON tasker_workflow_steps (priority DESC, ready_at, workflow_step_id)
    WHERE ready_at IS NOT NULL;
CREATE INDEX index_workflow_steps_ready_by_namespace
    ON tasker_workflow_steps (task_namespace_id, priority DESC, ready_at, workflow_step_id)
    WHERE ready_at IS NOT NULL;
-- Lease recovery: only steps in progress are in this index.
CREATE INDEX index_workflow_steps_leases ON tasker_workflow_steps (lease_expires_at)
    WHERE status = 'in_progress';

CREATE TABLE tasker_workflow_step_edges (
    id           bigserial PRIMARY KEY,
    from_step_id bigint NOT NULL REFERENCES tasker_workflow_steps ON DELETE CASCADE,
    to_step_id   bigint NOT NULL REFERENCES tasker_workflow_steps ON DELETE CASCADE,
    name         varchar(64) NOT NULL DEFAULT 'provides',
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (from_step_id, to_step_id, name)
);
CREATE INDEX index_step_edges_to_step ON tasker_workflow_step_edges (to_step_id);

CREATE TABLE tasker_task_transitions (
    id          bigserial PRIMARY KEY,
    task_id     bigint NOT NULL REFERENCES tasker_tasks ON DELETE CASCADE,
    from_state  varchar(32),
    to_state    varchar(32) NOT NULL,
    metadata    jsonb NOT NULL DEFAULT '{}',
    sort_key    int NOT NULL,
    most_recent boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_id, sort_key)
);
CREATE UNIQUE INDEX index_task_transitions_parent_most_recent
    ON tasker_task_transitions (task_id, most_recent) WHERE most_recent;

CREATE TABLE tasker_workflow_step_transitions (
    id               bigserial PRIMARY KEY,
    workflow_step_id bigint NOT NULL REFERENCES tasker_workflow_steps ON DELETE CASCADE,
    from_state       varchar(32),
    to_state         varchar(32) NOT NULL,
    metadata         jsonb NOT NULL DEFAULT '{}',
    sort_key         int NOT NULL,
    most_recent      boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workflow_step_id, sort_key)
);
CREATE UNIQUE INDEX index_step_transitions_parent_most_recent
    ON tasker_workflow_step_transitions (workflow_step_id, most_recent) WHERE most_recent;
CREATE INDEX index_step_transitions_errors
    ON tasker_workflow_step_transitions (workflow_step_id, created_at) WHERE to_state = 'error';

-- Every status change writes its transition row in the same transaction, so
-- no code path can change a state without a record of it. Metadata comes from
-- the transaction-local setting tasker.transition_metadata (set by the store
-- before each state-changing statement) merged with the attempt count.
CREATE FUNCTION tasker_record_step_transition() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous_key int;
    meta jsonb := coalesce(nullif(current_setting('tasker.transition_metadata', true), '')::jsonb, '{}');
BEGIN
    UPDATE tasker_workflow_step_transitions SET most_recent = false, updated_at = now()
     WHERE workflow_step_id = NEW.workflow_step_id AND most_recent
    RETURNING sort_key INTO previous_key;
    INSERT INTO tasker_workflow_step_transitions (workflow_step_id, from_state, to_state, metadata, sort_key, most_recent)
    VALUES (NEW.workflow_step_id,
            CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
            NEW.status,
            meta || jsonb_build_object('attempts', NEW.attempts),
            coalesce(previous_key + 1, 0),
            true);
    RETURN NULL;
END $$;

CREATE TRIGGER tasker_workflow_steps_insert_transition AFTER INSERT ON tasker_workflow_steps
    FOR EACH ROW EXECUTE FUNCTION tasker_record_step_transition();
CREATE TRIGGER tasker_workflow_steps_update_transition AFTER UPDATE OF status ON tasker_workflow_steps
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION tasker_record_step_transition();

CREATE FUNCTION tasker_record_task_transition() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous_key int;
    meta jsonb := coalesce(nullif(current_setting('tasker.transition_metadata', true), '')::jsonb, '{}');
BEGIN
    UPDATE tasker_task_transitions SET most_recent = false, updated_at = now()
     WHERE task_id = NEW.task_id AND most_recent
    RETURNING sort_key INTO previous_key;
    INSERT INTO tasker_task_transitions (task_id, from_state, to_state, metadata, sort_key, most_recent)
    VALUES (NEW.task_id,
            CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
            NEW.status,
            meta,
            coalesce(previous_key + 1, 0),
            true);
    RETURN NULL;
END $$;

CREATE TRIGGER tasker_tasks_insert_transition AFTER INSERT ON tasker_tasks
    FOR EACH ROW EXECUTE FUNCTION tasker_record_task_transition();
CREATE TRIGGER tasker_tasks_update_transition AFTER UPDATE OF status ON tasker_tasks
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION tasker_record_task_transition();
