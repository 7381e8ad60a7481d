# frozen_string_literal: true

module TaskerCore
  module Types
    module FFIOutputs
      # A step leased to this worker: everything needed to run its handler and
      # to report on it (claim_token).
      ClaimedStep = FFIOutputs.value(
        :workflow_step_id, :task_id, :namespace, :task_name, :task_version, :step_name, :handler,
        :handler_config, :task_context, :inputs, :dependency_results, :attempts, :retry_limit,
        :retryable, :claim_token, :lease_expires_at
      )
    end
  end
end
