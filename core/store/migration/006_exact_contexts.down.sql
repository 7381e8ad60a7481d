ALTER TABLE tasker_tasks ALTER COLUMN context DROP DEFAULT;
ALTER TABLE tasker_tasks ALTER COLUMN context TYPE jsonb USING context::jsonb;
ALTER TABLE tasker_tasks ALTER COLUMN context SET DEFAULT '{}'::jsonb;
