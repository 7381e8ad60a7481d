-- A task's context is kept as the caller sent it, as step results are:
-- jsonb turned 1e300 and 1e22 into integers, -0.0 into 0.0 and lost key
-- order. The identity of a task is hashed from the canonical form the engine
-- computes; nothing in the database needs the context as jsonb (cast where a
-- query ever does).
ALTER TABLE tasker_tasks ALTER COLUMN context DROP DEFAULT;
ALTER TABLE tasker_tasks ALTER COLUMN context TYPE json USING context::json;
ALTER TABLE tasker_tasks ALTER COLUMN context SET DEFAULT '{}'::json;
