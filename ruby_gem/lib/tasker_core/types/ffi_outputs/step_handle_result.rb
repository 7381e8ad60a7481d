# frozen_string_literal: true

module TaskerCore
  module Types
    module FFIOutputs
      # The outcome of running and reporting one step: its new status
      # ("complete", "waiting_for_retry", "error"), the task's status, the
      # results the handler returned or the error it raised.
      StepHandleResult = FFIOutputs.value(
        :step_id, :task_id, :step_name, :status, :attempts, :next_retry_at, :task_status, :results, :error
      ) do
        def complete? = status == "complete"
        def failed? = !error.nil?

        # Builds from the library's StepResult JSON plus what Ruby knows.
        # frozen: true when json was parsed with JSON's freeze: option and
        # results/error are already deep-frozen (StepRunner's own path).
        def self.from_step_result(json, results: nil, error: nil, frozen: false)
          from_h(json.merge("step_id" => json["workflow_step_id"], "results" => results, "error" => error), frozen: frozen)
        end
      end
    end
  end
end
