DROP TABLE IF EXISTS tasker_task_requests;
DROP FUNCTION IF EXISTS tasker_task_requests_notify();
