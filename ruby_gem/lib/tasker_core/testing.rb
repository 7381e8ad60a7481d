# frozen_string_literal: true

require_relative "testing/tracker"
require_relative "testing/isolation"

module TaskerCore
  # Step-by-step helpers for tests (include TaskerCore::Testing, or call
  # them on the module). Both block and run handlers in the calling thread.
  # Isolation between examples (testing/isolation.rb) comes with
  # require "tasker_core/testing/rspec" or TaskerCore::Testing::Minitest.
  module Testing
    WORKER_ID = "tasker_core.testing"

    module_function

    # Claims exactly this step (tasker_step_claim_one), runs its handler and
    # reports. Returns a StepHandleResult. Raises NotReadyError (#reason:
    # "dependencies_unmet", "in_backoff", "claimed", "already_done", "blocked").
    def handle_one_step(step_id, lease_ms: 60_000)
      claimed = Engine.claim_one(step_id: step_id, worker_id: "#{WORKER_ID}:#{Process.pid}", lease_ms: lease_ms)
      StepRunner.new.run(claimed)
    end

    # Runs the task's ready steps one at a time, waiting out retry backoffs,
    # until the task finishes or nothing can run. Returns the
    # TaskHandleResult. Raises TimeoutError after +timeout+ seconds.
    def run_task_to_completion(task_id, timeout: 30, max_steps: 100_000)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
      max_steps.times do
        ready = Engine.step_readiness(task_id)
        step = ready.find { |s| s["ready_for_execution"] }
        if step
          handle_one_step(step["workflow_step_id"])
          next
        end
        status = Engine.task_status(task_id)
        waiting = ready.select { |s| s["current_state"] == "waiting_for_retry" }
        return status if status.finished? || waiting.empty?

        remaining = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
        raise TimeoutError, "task #{task_id} did not finish within #{timeout}s (steps waiting for retry: #{waiting.map { |s| s['name'] }.join(', ')})" if remaining <= 0

        sleep([wait_for(waiting), remaining, 0.01].sort[1])
      end
      raise TimeoutError, "task #{task_id} ran #{max_steps} steps without finishing"
    end

    def wait_for(waiting)
      times = waiting.filter_map { |s| s["next_retry_at"] && Time.iso8601(s["next_retry_at"]) rescue nil } # rubocop:disable Style/RescueModifier
      return 0.05 if times.empty?

      [times.min - Time.now, 0.005].max
    end
  end
end
