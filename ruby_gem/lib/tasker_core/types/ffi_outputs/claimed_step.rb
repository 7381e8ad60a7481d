# frozen_string_literal: true

module TaskerCore
  module Types
    module FFIOutputs
      # A step leased to this worker: everything needed to run its handler and
      # to report on it (claim_token). timeout_seconds bounds the attempt (set
      # by the dispatcher; 0 from Engine.claim when the template sets none).
      ClaimedStep = FFIOutputs.value(
        :workflow_step_id, :task_id, :namespace, :task_name, :task_version, :step_name, :handler,
        :handler_config, :task_context, :inputs, :dependency_results, :attempts, :retry_limit,
        :retryable, :claim_token, :lease_expires_at, :timeout_seconds
      )
    end
  end
end
