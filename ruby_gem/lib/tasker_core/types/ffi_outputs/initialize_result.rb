# frozen_string_literal: true

module TaskerCore
  module Types
    module FFIOutputs
      # What initialize_task returns: the new task's id, its steps and the
      # step name => workflow_step_id mapping.
      InitializeResult = FFIOutputs.value(
        :task_id, :step_count, :step_mapping, :handler_config_name, :workflow_steps,
        nested: { workflow_steps: [WorkflowStep] }
      ) do
        def step_id(name) = step_mapping.fetch(name.to_s) { raise NotFoundError, "no step #{name.to_s.inspect} in task #{task_id}; steps: #{step_mapping.keys.join(', ')}" }
      end
    end
  end
end
