DROP FUNCTION IF EXISTS calculate_dependency_levels(bigint), get_task_execution_context(bigint),
    get_step_readiness_status(bigint, bigint[]);
