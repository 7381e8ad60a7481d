-- The dispatcher: per-step timeouts, and failure details in transition rows
-- written by set-based statements (one metadata setting serves a whole flush,
-- so each row's error class and message come from its own last_error).

ALTER TABLE tasker_named_tasks_named_steps ADD COLUMN timeout_seconds int
    CHECK (timeout_seconds IS NULL OR timeout_seconds > 0);

CREATE OR REPLACE FUNCTION tasker_record_step_transition() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous_key int;
    meta jsonb := coalesce(nullif(current_setting('tasker.transition_metadata', true), '')::jsonb, '{}');
BEGIN
    IF NEW.status IN ('waiting_for_retry', 'error') AND NEW.last_error IS NOT NULL AND NOT meta ? 'error_class' THEN
        meta := meta || jsonb_build_object('error_class', NEW.last_error->>'class',
                                           'error_message', left(NEW.last_error->>'message', 1000));
    END IF;
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
