# frozen_string_literal: true

module TaskerCore
  # One processor thread, "tasker_core.worker.<n>": it asks the dispatcher
  # for the next step (waiting up to a second at a time, so it notices a
  # stop), runs the step's handler with StepRunner and reports through the
  # dispatcher, until terminated. A handler's exception, whatever its class,
  # is the step's failure and the processor goes on; anything else that
  # escapes ends the thread, and the Manager is told (the block given to
  # .new is called with the processor and the exception, or nil for a
  # normal exit) and replaces it.
  #
  # Async exceptions (Thread#raise from the Watchdog or a hard shutdown)
  # are deferred everywhere but inside the handler, and are only raised
  # while the handler runs (#interrupt checks that under the processor's
  # lock), so they never land in a report or in the dispatcher's call.
  class Processor
    NEXT_TIMEOUT_MS = 1_000
    # Errors that mean this process can no longer work: they end the thread.
    FATAL = [ForkError, AbiError, AbiMismatchError, LibraryNotFoundError, InvalidHandleError, NotInitializedError].freeze

    attr_reader :index, :thread

    def initialize(index:, dispatcher:, runner:, logger:, &on_exit)
      @index = index
      @dispatcher = dispatcher
      @runner = runner
      @logger = logger
      @on_exit = on_exit
      @lock = Mutex.new
      @done = false
      @abandoned = false
      @phase = :idle
      @job = nil
      @handoff = Dispatcher::Handoff.new
    end

    def name = "tasker_core.worker.#{@index}"

    # Starts the thread; returns self.
    def start
      @thread = Thread.new { run }
      @thread.name = name
      @thread.report_on_exception = false
      self
    end

    # Stops taking steps after the current one (and the one already handed
    # over with its report, if any). Never blocks.
    def terminate
      @handoff.closed = true
      @done = true
    end

    # The step being run (a ClaimedStep) or nil.
    def job = @lock.synchronize { @job }

    # The steps this processor holds: the one being run and the next one,
    # handed to it with its last report and not started yet. Their
    # attempts have started, so a processor that dies has them failed.
    def held_steps = [job, @handoff.step].compact.uniq

    # Raises error_class into the thread if, and only if, its handler is
    # running; returns true when it did (the Watchdog, a hard shutdown).
    def interrupt(error_class, message)
      @lock.synchronize do
        return false unless @phase == :handler

        @interrupted_at ||= monotonic
        @thread.raise(error_class, message)
        true
      end
    end

    # [step, deadline, interrupted_at] while the handler runs (monotonic
    # seconds; deadline nil without a timeout), else nil.
    def handler_state
      @lock.synchronize { [@job, @deadline, @interrupted_at] if @phase == :handler }
    end

    # Marks the thread as given up on (stuck in its handler): it is renamed
    # "tasker_core.worker.<n>.abandoned" and its exit is no longer reported.
    def abandon!
      @lock.synchronize { @abandoned = true }
      @handoff.closed = true
      @done = true
      @thread.name = "#{name}.abandoned"
    end

    def abandoned? = @lock.synchronize { @abandoned }

    def alive? = @thread&.alive? || false

    private

    def run
      Thread.handle_interrupt(Exception => :never) { process_one until @done && @handoff.step.nil? }
      finish(nil)
    rescue Shutdown
      finish(nil)
    rescue Exception => e # rubocop:disable Lint/RescueException
      finish(e)
    end

    def finish(error) = (@on_exit&.call(self, error) unless abandoned?)

    def process_one
      claimed = take_handoff || fetch or return
      @lock.synchronize do
        @job = claimed
        @deadline = claimed.timeout_seconds.to_i.positive? ? monotonic + claimed.timeout_seconds : nil
        @interrupted_at = nil
      end
      run_step(claimed)
      @lock.synchronize { @job = @deadline = @interrupted_at = nil }
    end

    # The step handed over with the last report, if any (run even after
    # #terminate: its attempt has started). A closed handoff (terminated,
    # or the dispatcher said it is quiet) ends the loop, as ShutdownError
    # from #fetch does.
    def take_handoff
      step = @handoff.step
      @handoff.step = nil
      @done = true if @handoff.closed
      step
    end

    def fetch
      return nil if @done

      @dispatcher.next_step(NEXT_TIMEOUT_MS)
    rescue ShutdownError
      @done = true
      nil
    end

    # Runs and reports one step. A report the library refuses is logged and
    # the processor goes on; a fatal error ends the thread (with the step
    # kept in #job, so the Manager fails it).
    def run_step(claimed)
      @runner.run(claimed, @handoff) { |handler| handler_window(handler) }
    rescue StaleClaimError => e
      @logger.warn("tasker_core: result of step #{claimed.workflow_step_id} (#{claimed.step_name}) dropped: #{e.message} " \
                   "#{{ context: 'stale report', processor: name, task_id: claimed.task_id }.inspect}")
    rescue *FATAL
      raise
    rescue Error => e
      @logger.error("tasker_core: reporting step #{claimed.workflow_step_id} (#{claimed.step_name}) failed: " \
                    "#{e.class}: #{e.message} #{{ context: 'report failed', processor: name, task_id: claimed.task_id }.inspect}")
    end

    # The only place async exceptions are delivered: around the handler.
    def handler_window(handler)
      @lock.synchronize { @phase = :handler }
      Thread.handle_interrupt(Exception => :immediate) { handler.call }
    ensure
      @lock.synchronize { @phase = :reporting }
      drain_interrupts
    end

    # An interrupt raised just as the handler returned is still pending:
    # take it now (the step is reported as it ended) instead of letting it
    # fire in the next handler.
    def drain_interrupts
      return unless Thread.pending_interrupt?

      Thread.handle_interrupt(Exception => :immediate) { Thread.pass }
    rescue Shutdown
      @handoff.closed = true
      @done = true
    rescue Exception => e # rubocop:disable Lint/RescueException
      @logger.info("tasker_core: #{name} took #{e.class} after its handler had returned; reporting the step as it ended")
    end

    def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end
end
