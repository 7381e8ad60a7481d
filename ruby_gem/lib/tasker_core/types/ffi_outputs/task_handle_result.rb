# frozen_string_literal: true

module TaskerCore
  module Types
    module FFIOutputs
      # A task with its steps (tasker_task_status).
      TaskHandleResult = FFIOutputs.value(
        :task_id, :namespace, :name, :version, :status, :complete, :context, :tags, :initiator,
        :source_system, :reason, :priority, :requested_at, :completed_at, :steps,
        nested: { steps: [WorkflowStep] }
      ) do
        def step(name) = steps.find { |s| s.name == name.to_s }
        def finished? = %w[complete error cancelled resolved_manually].include?(status)
      end
    end
  end
end
