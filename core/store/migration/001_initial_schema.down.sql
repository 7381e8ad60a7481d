DROP TABLE IF EXISTS tasker_workflow_step_transitions, tasker_task_transitions, tasker_workflow_step_edges,
    tasker_workflow_steps, tasker_tasks, tasker_named_tasks_named_steps, tasker_named_steps,
    tasker_named_tasks, tasker_task_namespaces CASCADE;
DROP FUNCTION IF EXISTS tasker_record_step_transition(), tasker_record_task_transition();
