# frozen_string_literal: true

module TaskerCore
  module Types
    module FFIOutputs
      # A task request (TaskerCore.request_task, TaskerCore.task_request):
      # status is "pending", "created" (task_id is the new task), "duplicate"
      # (task_id is the existing task with the same identity) or "failed"
      # (error is {"code", "message", "details"}, as a raised
      # TaskerCore::Error would carry). request is the TaskRequest as written.
      TaskRequestStatus = FFIOutputs.value(
        :task_request_id, :status, :namespace, :name, :version, :request, :task_id, :error, :attempts,
        :requested_at, :processed_at
      ) do
        def pending? = status == "pending"
        def created? = status == "created"
        def duplicate? = status == "duplicate"
        def failed? = status == "failed"
        # True once the request became (or found) its task.
        def task? = !task_id.nil?

        # The error as the TaskerCore::Error subclass of its code (nil when none).
        def to_error
          error && Error::REGISTRY.fetch(error["code"], InternalError)
                                  .new(error["message"], code: error["code"], details: error["details"] || {})
        end
      end

      # What one take-up round did with one request (TaskerCore.take_up_task_requests).
      TaskRequestOutcome = FFIOutputs.value(:task_request_id, :status, :task_id, :error)
    end
  end
end
