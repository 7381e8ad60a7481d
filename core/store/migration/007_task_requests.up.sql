-- Task requests: the transactional outbox of initialize_task. An application
-- inserts a row on its own connection inside its own transaction (the gem's
-- TaskerCore.request_task), so a rollback leaves nothing. A dispatcher takes
-- each committed row up (FOR UPDATE SKIP LOCKED) and creates its task in the
-- same transaction that marks the row, so a request becomes at most one task
-- however many workers race and wherever one crashes.
--
-- status moves pending -> created (task_id: the new task)
--                      -> duplicate (task_id: the existing task of the same identity)
--                      -> failed (error: why it can never succeed as it stands)
-- and failed -> pending again only by an operator's retry. A pending row that
-- hit a transient error keeps it in error and counts it in attempts.
CREATE TABLE tasker_task_requests (
    task_request_id bigserial PRIMARY KEY,
    -- The TaskRequest as the caller encoded it: json, not jsonb, so the
    -- context keeps its numbers and key order (as tasker_tasks.context does).
    request json NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'created', 'duplicate', 'failed')),
    task_id bigint,
    error jsonb,
    attempts int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    requested_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    CHECK ((status IN ('created', 'duplicate')) = (task_id IS NOT NULL)),
    CHECK (status <> 'failed' OR error IS NOT NULL),
    CHECK ((status = 'pending') = (processed_at IS NULL))
);

-- The take-up's scan, oldest first.
CREATE INDEX tasker_task_requests_pending_idx ON tasker_task_requests (task_request_id) WHERE status = 'pending';
-- Listing failed requests, and pruning taken ones by age.
CREATE INDEX tasker_task_requests_processed_idx ON tasker_task_requests (status, processed_at) WHERE status <> 'pending';

-- Wakes the dispatchers' take-up when the inserting (or retrying)
-- transaction commits; PostgreSQL folds the notifications of one transaction
-- into one. A dispatcher that misses it (no LISTEN, e.g. behind PgBouncer in
-- transaction mode) still finds the row by its poll.
CREATE FUNCTION tasker_task_requests_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tasker_task_requests', '');
    RETURN NULL;
END $$;

CREATE TRIGGER tasker_task_requests_notify
    AFTER INSERT OR UPDATE OF status ON tasker_task_requests
    FOR EACH ROW WHEN (NEW.status = 'pending')
    EXECUTE FUNCTION tasker_task_requests_notify();
