DROP TRIGGER tasker_workflow_steps_truncate_transitions ON tasker_workflow_steps;
DROP TRIGGER tasker_tasks_truncate_transitions ON tasker_tasks;
DROP TRIGGER tasker_workflow_steps_delete_transitions ON tasker_workflow_steps;
DROP TRIGGER tasker_tasks_delete_transitions ON tasker_tasks;
DROP TRIGGER tasker_tasks_update_transitions ON tasker_tasks;
DROP TRIGGER tasker_tasks_insert_transitions ON tasker_tasks;
DROP TRIGGER tasker_workflow_steps_update_transitions ON tasker_workflow_steps;
DROP TRIGGER tasker_workflow_steps_insert_transitions ON tasker_workflow_steps;
DROP FUNCTION tasker_truncate_transitions();
DROP FUNCTION tasker_delete_step_transitions();
DROP FUNCTION tasker_delete_task_transitions();
DROP FUNCTION tasker_record_task_transitions_updated();
DROP FUNCTION tasker_record_task_transitions_inserted();
DROP FUNCTION tasker_record_step_transitions_updated();
DROP FUNCTION tasker_record_step_transitions_inserted();
DROP FUNCTION tasker_step_transition_metadata(jsonb, text, int, jsonb);

CREATE FUNCTION tasker_record_step_transition() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE FUNCTION tasker_record_task_transition() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous_key int;
    meta jsonb := coalesce(nullif(current_setting('tasker.transition_metadata', true), '')::jsonb, '{}');
BEGIN
    UPDATE tasker_task_transitions SET most_recent = false, updated_at = now()
     WHERE task_id = NEW.task_id AND most_recent
    RETURNING sort_key INTO previous_key;
    INSERT INTO tasker_task_transitions (task_id, from_state, to_state, metadata, sort_key, most_recent)
    VALUES (NEW.task_id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status, meta,
            coalesce(previous_key + 1, 0), true);
    RETURN NULL;
END $$;

CREATE TRIGGER tasker_workflow_steps_insert_transition AFTER INSERT ON tasker_workflow_steps
    FOR EACH ROW EXECUTE FUNCTION tasker_record_step_transition();
CREATE TRIGGER tasker_workflow_steps_update_transition AFTER UPDATE OF status ON tasker_workflow_steps
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION tasker_record_step_transition();
CREATE TRIGGER tasker_tasks_insert_transition AFTER INSERT ON tasker_tasks
    FOR EACH ROW EXECUTE FUNCTION tasker_record_task_transition();
CREATE TRIGGER tasker_tasks_update_transition AFTER UPDATE OF status ON tasker_tasks
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION tasker_record_task_transition();

ALTER TABLE tasker_tasks RESET (fillfactor);
CREATE INDEX index_tasks_unfinished ON tasker_tasks (status) WHERE NOT complete;
DELETE FROM tasker_task_transitions t WHERE NOT EXISTS (SELECT 1 FROM tasker_tasks x WHERE x.task_id = t.task_id);
DELETE FROM tasker_workflow_step_transitions t
 WHERE NOT EXISTS (SELECT 1 FROM tasker_workflow_steps x WHERE x.workflow_step_id = t.workflow_step_id);
ALTER TABLE tasker_task_transitions ADD CONSTRAINT tasker_task_transitions_task_id_fkey
    FOREIGN KEY (task_id) REFERENCES tasker_tasks ON DELETE CASCADE;
ALTER TABLE tasker_workflow_step_transitions ADD CONSTRAINT tasker_workflow_step_transitions_workflow_step_id_fkey
    FOREIGN KEY (workflow_step_id) REFERENCES tasker_workflow_steps ON DELETE CASCADE;
