-- Transition rows written once per statement instead of once per row.
--
-- The dispatcher changes the states of whole batches in one statement; the
-- row-level triggers of 001 then ran two statements (demote, insert) and a
-- foreign-key check per changed row. Measured on the burn-down (one-step
-- tasks, pg_stat_statements, 2026-11-30): 304 us of server time per step
-- before, about 190 after this migration, the same rows written.
--
-- What stays true: every status change writes its transition row in the
-- same statement's transaction, with from_state, sort_key = previous + 1 and
-- exactly one most_recent row per step and task (the partial unique indexes
-- of 001 still check it).

-- The foreign keys of the transition tables cost a key-share lock and an
-- executor start per transition row, for rows only these triggers write,
-- each naming the row it fires for. Deleting or truncating a task or a step
-- still takes its transitions with it (the triggers at the end).
ALTER TABLE tasker_task_transitions DROP CONSTRAINT tasker_task_transitions_task_id_fkey;
ALTER TABLE tasker_workflow_step_transitions
    DROP CONSTRAINT tasker_workflow_step_transitions_workflow_step_id_fkey;

-- A task's updates can be HOT (no index entries written) once no index
-- covers status or complete: nothing queried index_tasks_unfinished, and it
-- made each of a task's status changes write all four task indexes. The
-- free space keeps the new row versions on their page.
DROP INDEX index_tasks_unfinished;
ALTER TABLE tasker_tasks SET (fillfactor = 80);

DROP TRIGGER tasker_workflow_steps_insert_transition ON tasker_workflow_steps;
DROP TRIGGER tasker_workflow_steps_update_transition ON tasker_workflow_steps;
DROP TRIGGER tasker_tasks_insert_transition ON tasker_tasks;
DROP TRIGGER tasker_tasks_update_transition ON tasker_tasks;
DROP FUNCTION tasker_record_step_transition();
DROP FUNCTION tasker_record_task_transition();

-- Metadata: the transaction-local setting tasker.transition_metadata (one
-- per statement) merged with the row's attempts, and for failures the row's
-- own error class and message (a flush fails many steps in one statement).
-- STABLE as what it calls, so the planner inlines it (an IMMUTABLE one ran
-- as a function call per row: 23 us a step).
CREATE FUNCTION tasker_step_transition_metadata(meta jsonb, to_state text, attempts int, last_error jsonb)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN to_state IN ('waiting_for_retry', 'error') AND last_error IS NOT NULL AND NOT meta ? 'error_class'
                THEN meta || jsonb_build_object('error_class', last_error->>'class',
                                                'error_message', left(last_error->>'message', 1000))
                ELSE meta END || jsonb_build_object('attempts', attempts)
$$;

CREATE FUNCTION tasker_record_step_transitions_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    meta jsonb := coalesce(nullif(current_setting('tasker.transition_metadata', true), '')::jsonb, '{}');
BEGIN
    INSERT INTO tasker_workflow_step_transitions (workflow_step_id, from_state, to_state, metadata, sort_key, most_recent)
    SELECT n.workflow_step_id, NULL, n.status,
           tasker_step_transition_metadata(meta, n.status, n.attempts, n.last_error),
           0, true
      FROM new_rows n;
    RETURN NULL;
END $$;

-- The previous most_recent row's to_state is the row's old status (every
-- change and every insert writes one), so the demote finds both the changed
-- rows and their from_state, and the insert reads the demote's output: no
-- join of the old and new row sets, whose size the planner cannot know.
CREATE FUNCTION tasker_record_step_transitions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE FUNCTION tasker_record_task_transitions_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    meta jsonb := coalesce(nullif(current_setting('tasker.transition_metadata', true), '')::jsonb, '{}');
BEGIN
    INSERT INTO tasker_task_transitions (task_id, from_state, to_state, metadata, sort_key, most_recent)
    SELECT n.task_id, NULL, n.status, meta, 0, true
      FROM new_rows n;
    RETURN NULL;
END $$;

CREATE FUNCTION tasker_record_task_transitions_updated() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- Statement triggers with transition tables take no column list, so the
-- update triggers also fire for updates that change no status (heartbeats,
-- a parent's release of its children): those find no changed row.
CREATE TRIGGER tasker_workflow_steps_insert_transitions AFTER INSERT ON tasker_workflow_steps
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasker_record_step_transitions_inserted();
CREATE TRIGGER tasker_workflow_steps_update_transitions AFTER UPDATE ON tasker_workflow_steps
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasker_record_step_transitions_updated();
CREATE TRIGGER tasker_tasks_insert_transitions AFTER INSERT ON tasker_tasks
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasker_record_task_transitions_inserted();
CREATE TRIGGER tasker_tasks_update_transitions AFTER UPDATE ON tasker_tasks
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasker_record_task_transitions_updated();

-- What the dropped foreign keys' ON DELETE CASCADE did, and TRUNCATE too.
-- A task's steps go by their own cascade, which fires the step trigger.
CREATE FUNCTION tasker_delete_task_transitions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM tasker_task_transitions t USING old_rows o WHERE t.task_id = o.task_id;
    RETURN NULL;
END $$;

CREATE FUNCTION tasker_delete_step_transitions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM tasker_workflow_step_transitions t USING old_rows o WHERE t.workflow_step_id = o.workflow_step_id;
    RETURN NULL;
END $$;

CREATE FUNCTION tasker_truncate_transitions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'tasker_tasks' THEN
        TRUNCATE tasker_task_transitions;
    END IF;
    TRUNCATE tasker_workflow_step_transitions;
    RETURN NULL;
END $$;

CREATE TRIGGER tasker_tasks_delete_transitions AFTER DELETE ON tasker_tasks
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasker_delete_task_transitions();
CREATE TRIGGER tasker_workflow_steps_delete_transitions AFTER DELETE ON tasker_workflow_steps
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasker_delete_step_transitions();
CREATE TRIGGER tasker_tasks_truncate_transitions AFTER TRUNCATE ON tasker_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION tasker_truncate_transitions();
CREATE TRIGGER tasker_workflow_steps_truncate_transitions AFTER TRUNCATE ON tasker_workflow_steps
    FOR EACH STATEMENT EXECUTE FUNCTION tasker_truncate_transitions();
