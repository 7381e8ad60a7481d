# frozen_string_literal: true

module TaskerCore
  module Types
    module FFIOutputs
      # One step of a task as stored (state, attempts, results, last error).
      WorkflowStep = FFIOutputs.value(
        :workflow_step_id, :task_id, :name, :handler, :status, :depends_on, :retryable, :retry_limit,
        :attempts, :in_process, :processed, :processed_at, :last_attempted_at, :backoff_request_seconds,
        :next_retry_at, :results, :last_error, :duration_ms
      ) do
        def complete? = status == "complete"
      end
    end
  end
end
