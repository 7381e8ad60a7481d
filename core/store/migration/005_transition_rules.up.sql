-- The legal moves of steps and tasks, keyed by event, the same table as
-- core/statemachine (a test compares them row by row). The triggers that
-- write transition rows refuse any change of status this table does not
-- list, with SQLSTATE TK001, so neither the engine's SQL nor a hand-written
-- UPDATE can record an illegal move. A statement that sets no event in
-- tasker.transition_metadata may make any move some event allows.
CREATE TABLE tasker_transition_rules (
    entity     varchar(8)  NOT NULL CHECK (entity IN ('step', 'task')),
    event      varchar(64) NOT NULL,
    from_state varchar(32) NOT NULL,
    to_state   varchar(32) NOT NULL,
    PRIMARY KEY (entity, from_state, to_state, event)
);

INSERT INTO tasker_transition_rules (entity, event, from_state, to_state) VALUES
    ('step', 'execution_requested', 'pending', 'in_progress'),
    ('step', 'execution_requested', 'waiting_for_retry', 'in_progress'),
    ('step', 'completed', 'in_progress', 'complete'),
    ('step', 'failed', 'in_progress', 'waiting_for_retry'),
    ('step', 'failed', 'in_progress', 'error'),
    ('step', 'lease_expired', 'in_progress', 'waiting_for_retry'),
    ('step', 'lease_expired', 'in_progress', 'error'),
    ('step', 'released', 'in_progress', 'pending'),
    ('step', 'cancelled', 'pending', 'cancelled'),
    ('step', 'cancelled', 'in_progress', 'cancelled'),
    ('step', 'cancelled', 'waiting_for_retry', 'cancelled'),
    ('step', 'resolved_manually', 'pending', 'resolved_manually'),
    ('step', 'resolved_manually', 'waiting_for_retry', 'resolved_manually'),
    ('step', 'resolved_manually', 'error', 'resolved_manually'),
    ('step', 'retry_requested', 'error', 'pending'),
    ('task', 'execution_requested', 'pending', 'in_progress'),
    ('task', 'start_requested', 'pending', 'in_progress'),
    ('task', 'completed', 'in_progress', 'complete'),
    ('task', 'failed', 'in_progress', 'error'),
    ('task', 'cancelled', 'pending', 'cancelled'),
    ('task', 'cancelled', 'in_progress', 'cancelled'),
    ('task', 'cancelled', 'error', 'cancelled'),
    ('task', 'retry_requested', 'error', 'pending');

-- Raises the refusal; DETAIL carries the move as JSON for the engine's
-- InvalidTransitionError.
CREATE FUNCTION tasker_refuse_transition(entity text, id bigint, from_state text, to_state text, event text)
RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% % cannot go from % to %', entity, id, from_state, to_state
        USING ERRCODE = 'TK001',
              DETAIL = jsonb_build_object('entity', entity, 'id', id, 'from', from_state, 'to', to_state,
                                          'event', event)::text,
              HINT = 'tasker_transition_rules lists the legal moves by event';
END $$;

CREATE OR REPLACE FUNCTION tasker_record_step_transitions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    meta jsonb := coalesce(nullif(current_setting('tasker.transition_metadata', true), '')::jsonb, '{}');
    ev text := meta->>'event';
BEGIN
    WITH previous AS (
        UPDATE tasker_workflow_step_transitions t SET most_recent = false, updated_at = now()
          FROM new_rows n
         WHERE t.workflow_step_id = n.workflow_step_id AND t.most_recent AND t.to_state IS DISTINCT FROM n.status
        RETURNING t.workflow_step_id, t.sort_key, t.to_state AS from_state, n.status AS to_state, n.attempts, n.last_error
    )
    INSERT INTO tasker_workflow_step_transitions (workflow_step_id, from_state, to_state, metadata, sort_key, most_recent)
    SELECT p.workflow_step_id, p.from_state, p.to_state,
           CASE WHEN r.allowed
                THEN tasker_step_transition_metadata(meta, p.to_state, p.attempts, p.last_error)
                ELSE tasker_refuse_transition('step', p.workflow_step_id, p.from_state, p.to_state, ev) END,
           p.sort_key + 1, true
      FROM previous p
      LEFT JOIN LATERAL (SELECT true AS allowed FROM tasker_transition_rules r
                          WHERE r.entity = 'step' AND r.from_state = p.from_state AND r.to_state = p.to_state
                            AND (ev IS NULL OR r.event = ev)
                          LIMIT 1) r ON true;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tasker_record_task_transitions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    meta jsonb := coalesce(nullif(current_setting('tasker.transition_metadata', true), '')::jsonb, '{}');
    ev text := meta->>'event';
BEGIN
    WITH previous AS (
        UPDATE tasker_task_transitions t SET most_recent = false, updated_at = now()
          FROM new_rows n
         WHERE t.task_id = n.task_id AND t.most_recent AND t.to_state IS DISTINCT FROM n.status
        RETURNING t.task_id, t.sort_key, t.to_state AS from_state, n.status AS to_state
    )
    INSERT INTO tasker_task_transitions (task_id, from_state, to_state, metadata, sort_key, most_recent)
    SELECT p.task_id, p.from_state, p.to_state,
           CASE WHEN r.allowed THEN meta
                ELSE tasker_refuse_transition('task', p.task_id, p.from_state, p.to_state, ev) END,
           p.sort_key + 1, true
      FROM previous p
      LEFT JOIN LATERAL (SELECT true AS allowed FROM tasker_transition_rules r
                          WHERE r.entity = 'task' AND r.from_state = p.from_state AND r.to_state = p.to_state
                            AND (ev IS NULL OR r.event = ev)
                          LIMIT 1) r ON true;
    RETURN NULL;
END $$;
