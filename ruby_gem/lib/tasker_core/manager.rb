# frozen_string_literal: true

module TaskerCore
  # Owns a worker's processors: starts +count+ of them, replaces one that
  # dies or is abandoned, and stops them (quiet: no new steps; stop: wait
  # until a deadline, then raise Shutdown into the handlers still running).
  #
  # Fatal conditions are reported to +on_fatal+ (Launcher#fatal!), never
  # swallowed, so a process is never left alive with no processors:
  # - a processor died of one of Processor::FATAL (ForkError, the library
  #   refusing to load or gone, ...);
  # - more than DEATH_LIMIT processors died within DEATH_WINDOW seconds
  #   (they die as fast as they are replaced: a bug, not bad luck);
  # - the threads abandoned as stuck (see Watchdog) reach +count+.
  class Manager
    DEATH_LIMIT = 5
    DEATH_WINDOW = 60
    # How long a hard shutdown waits for interrupted handlers to unwind.
    KILL_WAIT = 2

    attr_reader :count

    def initialize(dispatcher:, count:, logger:, on_fatal:, runner: nil)
      @dispatcher = dispatcher
      @count = count
      @logger = logger
      @on_fatal = on_fatal
      @runner = runner || StepRunner.new(reporter: dispatcher)
      @lock = Mutex.new
      @done = false
      @next_index = 0
      @processors = []
      @abandoned = []
      @deaths = []
    end

    # Starts the processors; returns self.
    def start
      @lock.synchronize { @count.times { spawn_locked } }
      self
    end

    # The live processors (a snapshot).
    def processors = @lock.synchronize { @processors.dup }

    def abandoned = @lock.synchronize { @abandoned.dup }

    def stopped? = @done

    # No processor takes another step; running handlers go on. Never blocks.
    def quiet
      @done = true
      processors.each(&:terminate)
    end

    # Quiets, waits until +deadline+ (monotonic seconds) for the processors
    # to finish their steps, then raises Shutdown into the handlers still
    # running and waits up to KILL_WAIT for them. Returns true when every
    # processor finished before the deadline.
    def stop(deadline)
      quiet
      sleep 0.01 until processors.empty? || monotonic >= deadline
      return true if processors.empty?

      hard_shutdown
      false
    end

    # Called from a processor's thread as it exits: error is nil for a
    # normal exit. A processor that died is logged with its step, the steps
    # it held are failed with the error (a stale claim is fine), and a replacement
    # starts unless stopping or fatal.
    def processor_exited(processor, error)
      @lock.synchronize { @processors.delete(processor) }
      return unless error

      steps = processor.held_steps
      step = steps.first
      @logger.error("tasker_core: #{processor.name} died: #{error.class}: #{error.message} " \
                    "#{{ context: 'processor died', worker_id: @dispatcher.worker_id, step_id: step&.workflow_step_id,
                         step_name: step&.step_name, backtrace: Array(error.backtrace).first(5) }.inspect}")
      steps.each { |s| fail_step(s, error) }
      replace(processor, fatal_reason(error))
    rescue Exception => e # rubocop:disable Lint/RescueException
      @on_fatal.call(e) # the supervisor itself broke: nothing is left to replace processors
    end

    # Gives up on a processor stuck in its handler (Watchdog): renames its
    # thread, starts a replacement, and reports a fatal condition once the
    # abandoned threads reach the processor count.
    def abandon(processor)
      return if @done # stopping: the hard shutdown deals with stuck handlers

      processor.abandon!
      abandoned = @lock.synchronize do
        @processors.delete(processor)
        (@abandoned << processor).size
      end
      @logger.error("tasker_core: #{processor.name} is stuck in its handler after a timeout; abandoning the thread " \
                    "#{{ context: 'processor abandoned', worker_id: @dispatcher.worker_id, abandoned: abandoned,
                         step_id: processor.job&.workflow_step_id }.inspect}")
      reason = if abandoned >= @count
                 Error.new("#{abandoned} processor threads are stuck in handlers (of #{@count}); " \
                           "restart the process (a supervisor restarts it when it exits non-zero)")
               end
      replace(processor, reason)
    end

    private

    def spawn_locked
      index = @next_index
      @next_index += 1
      processor = Processor.new(index: index, dispatcher: @dispatcher, runner: @runner, logger: @logger) do |p, e|
        processor_exited(p, e)
      end
      @processors << processor
      processor.start
    end

    def replace(processor, fatal)
      return @on_fatal.call(fatal) if fatal

      @lock.synchronize { spawn_locked unless @done }
      @logger.info("tasker_core: replaced #{processor.name}") unless @done
    end

    def fatal_reason(error)
      return error if Processor::FATAL.any? { |k| error.is_a?(k) }

      now = monotonic
      recent = @lock.synchronize { @deaths = @deaths.select { |t| now - t < DEATH_WINDOW } << now }
      return nil if recent.size <= DEATH_LIMIT

      Error.new("#{recent.size} processors died within #{DEATH_WINDOW}s (the last: #{error.class}: #{error.message}); " \
                "stopping the worker instead of replacing them again")
    end

    def fail_step(step, error)
      @dispatcher.fail({ step_id: step.workflow_step_id, claim_token: step.claim_token, error: StepRunner.failure(error) })
    rescue StaleClaimError
      nil # the library had already failed or released it
    rescue Error => e
      @logger.error("tasker_core: could not fail step #{step.workflow_step_id} of dead #{step.step_name}: #{e.class}: #{e.message}")
    end

    def hard_shutdown
      busy = processors
      @logger.warn("tasker_core: stop deadline passed; interrupting #{busy.size} running handler(s): " \
                   "#{busy.filter_map { |p| p.job&.workflow_step_id }.inspect}")
      busy.each { |p| p.interrupt(Shutdown, "worker stopping: the deadline passed") }
      until_time = monotonic + KILL_WAIT
      busy.each { |p| p.thread.join([until_time - monotonic, 0].max) }
    end

    def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end
end
