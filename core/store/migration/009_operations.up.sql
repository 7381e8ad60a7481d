-- The operations surface (tasker-core list/stats/stuck, the dashboard and
-- metrics): indexes for keyset-paginated listing and cheap stats, and the
-- maintenance leader's record of stuck work.
--
-- No index on tasker_tasks.status: 004 dropped the last one so a task's
-- status changes stay HOT. A task's current state is also its most_recent
-- transition row (the transition triggers keep them equal in the same
-- statement), so that row is indexed instead: listing by state and counting
-- tasks by state read this narrow partial index, and a transition insert
-- pays one more index entry (the demote of the previous row adds none: it
-- leaves the predicate).
CREATE INDEX index_task_transitions_current_state
    ON tasker_task_transitions (to_state, task_id) WHERE most_recent;
-- Most rows are demoted history (a finished task has three); without the
-- joint distribution of the two columns the planner takes a third of the
-- current rows to be pending, and scans where it should walk the index.
CREATE STATISTICS tasker_task_transitions_current_state_stats (mcv) ON to_state, most_recent
    FROM tasker_task_transitions;

-- Listing by template or namespace walks one template's tasks newest first.
-- named_task_id never changes, so task updates stay HOT; this replaces the
-- single-column index of 001, which it covers.
CREATE INDEX index_tasks_on_named_task_id_and_task_id ON tasker_tasks (named_task_id, task_id);
DROP INDEX index_tasks_on_named_task_id;

-- Age filters (--older-than, --newer-than); requested_at never changes.
CREATE INDEX index_tasks_on_requested_at ON tasker_tasks (requested_at);

-- Throughput over the last minutes: transition rows are written in time
-- order, so a BRIN index of a few pages finds the last minutes' rows
-- without a scan of the table's history.
CREATE INDEX index_step_transitions_created_at_brin
    ON tasker_workflow_step_transitions USING brin (created_at) WITH (autosummarize = on);

-- Work the maintenance leader found stuck, one row per finding, as of its
-- last round: rewritten each round (a finding no longer true is deleted),
-- first_seen_at kept while the finding stays. Kinds:
--   lease_expired     a step in progress whose lease passed and that the
--                     lease rescue did not return (its task stayed locked);
--   past_timeout      a step in progress longer than its timeout while its
--                     worker keeps extending the lease;
--   no_runnable_step  a pending or in-progress task none of whose steps is
--                     running, waiting for a retry or ready.
-- No foreign keys: recording must never wait for a task's row lock; a
-- finding whose task is gone is deleted by the next round.
CREATE TABLE tasker_stuck_work (
    id               bigserial PRIMARY KEY,
    kind             varchar(32) NOT NULL CHECK (kind IN ('lease_expired', 'past_timeout', 'no_runnable_step')),
    task_id          bigint NOT NULL,
    workflow_step_id bigint,
    reason           text NOT NULL,
    details          jsonb NOT NULL DEFAULT '{}',
    first_seen_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'no_runnable_step') = (workflow_step_id IS NULL))
);
CREATE UNIQUE INDEX index_stuck_work_finding
    ON tasker_stuck_work (kind, task_id, coalesce(workflow_step_id, 0));
