CREATE OR REPLACE FUNCTION tasker_record_step_transitions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    meta jsonb := coalesce(nullif(current_setting('tasker.transition_metadata', true), '')::jsonb, '{}');
BEGIN
    WITH previous AS (
        UPDATE tasker_workflow_step_transitions t SET most_recent = false, updated_at = now()
          FROM new_rows n
         WHERE t.workflow_step_id = n.workflow_step_id AND t.most_recent AND t.to_state IS DISTINCT FROM n.status
        RETURNING t.workflow_step_id, t.sort_key, t.to_state AS from_state, n.status AS to_state, n.attempts, n.last_error
    )
    INSERT INTO tasker_workflow_step_transitions (workflow_step_id, from_state, to_state, metadata, sort_key, most_recent)
    SELECT p.workflow_step_id, p.from_state, p.to_state,
           tasker_step_transition_metadata(meta, p.to_state, p.attempts, p.last_error), p.sort_key + 1, true
      FROM previous p;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tasker_record_task_transitions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    meta jsonb := coalesce(nullif(current_setting('tasker.transition_metadata', true), '')::jsonb, '{}');
BEGIN
    WITH previous AS (
        UPDATE tasker_task_transitions t SET most_recent = false, updated_at = now()
          FROM new_rows n
         WHERE t.task_id = n.task_id AND t.most_recent AND t.to_state IS DISTINCT FROM n.status
        RETURNING t.task_id, t.sort_key, t.to_state AS from_state, n.status AS to_state
    )
    INSERT INTO tasker_task_transitions (task_id, from_state, to_state, metadata, sort_key, most_recent)
    SELECT p.task_id, p.from_state, p.to_state, meta, p.sort_key + 1, true
      FROM previous p;
    RETURN NULL;
END $$;

DROP FUNCTION tasker_refuse_transition(text, bigint, text, text, text);
DROP TABLE tasker_transition_rules;
