# frozen_string_literal: true

module TaskerCore
  # Enforces per-step timeouts on the Ruby side ("tasker_core.watchdog").
  # About every INTERVAL seconds it looks at each running handler:
  #
  # - past the step's timeout_seconds plus GRACE it raises
  #   StepTimeoutError into the processor. The library has failed that
  #   attempt already (as retryable, class TaskerCore::StepTimeoutError), so
  #   the processor's report of it is a stale claim, logged and dropped, and
  #   the processor slot is free for the next step;
  # - still in the same handler +timeout_grace+ seconds after that (a
  #   handler that swallowed the exception, or is blocked in C code that
  #   never checks for interrupts), the Manager abandons the thread and
  #   starts a replacement (see Manager#abandon for when that is fatal).
  class Watchdog
    INTERVAL = 0.5
    # Past the library's own deadline: its failure of the attempt goes first.
    GRACE = 1.0

    def initialize(manager:, timeout_grace:, logger:)
      @manager = manager
      @timeout_grace = timeout_grace
      @logger = logger
      @lock = Mutex.new
      @wake = ConditionVariable.new
      @stopping = false
    end

    def start
      @thread = Thread.new { loop_body }
      @thread.name = "tasker_core.watchdog"
      self
    end

    # Stops the thread (waits up to a second).
    def stop
      @lock.synchronize do
        @stopping = true
        @wake.signal
      end
      @thread&.join(1)
    end

    # One round over the processors (public for tests).
    def check(now = monotonic)
      @manager.processors.each do |processor|
        step, deadline, interrupted_at = processor.handler_state
        next unless step && deadline

        if interrupted_at
          @manager.abandon(processor) if now - interrupted_at >= @timeout_grace && processor.handler_state
        elsif now >= deadline + GRACE
          timeout(processor, step)
        end
      end
    end

    private

    def loop_body
      loop do
        @lock.synchronize do
          @wake.wait(@lock, INTERVAL) unless @stopping
          return if @stopping
        end
        check
      rescue StandardError => e
        @logger.error("tasker_core: watchdog round failed: #{e.class}: #{e.message} #{{ context: 'watchdog' }.inspect}")
      end
    end

    def timeout(processor, step)
      message = "step #{step.workflow_step_id} (#{step.step_name}) ran past its timeout of #{step.timeout_seconds}s"
      return unless processor.interrupt(StepTimeoutError, message)

      @logger.warn("tasker_core: #{message}; interrupted #{processor.name} " \
                   "#{{ context: 'step timeout', task_id: step.task_id, step_id: step.workflow_step_id }.inspect}")
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
