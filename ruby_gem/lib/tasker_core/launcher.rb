# frozen_string_literal: true

module TaskerCore
  # Starts and stops one worker, shaped like Sidekiq's Launcher: the
  # library's Dispatcher, the Manager with its Processors, and the Watchdog.
  #
  #   launcher = Launcher.new(worker_id: "w1", namespaces: [], threads: 4, ...).start
  #   launcher.quiet                # no new steps; running ones finish
  #   launcher.stop(deadline: 25)   # waits, interrupts what is left, gives it back
  #
  # A fatal condition (see Manager) is reported once to the handler given to
  # #on_fatal (the CLI's signal loop stops and exits non-zero); without one
  # the launcher stops itself in the background. #fatal_error keeps it.
  class Launcher
    # How long a stop triggered by a fatal condition (with no handler) waits
    # for running steps.
    FATAL_STOP_DEADLINE = 25

    attr_reader :worker_id, :fatal_error, :dispatcher, :manager

    def initialize(worker_id:, namespaces:, threads:, lease_ms:, step_timeout:, poll_interval:, timeout_grace:,
                   logger: TaskerCore.logger)
      @worker_id = worker_id
      @namespaces = namespaces
      @threads = threads
      @lease_ms = lease_ms
      @step_timeout = step_timeout
      @poll_interval = poll_interval
      @timeout_grace = timeout_grace
      @logger = logger
      @lock = Mutex.new
      @stop_lock = Mutex.new
      @fatal_handler = nil
      @stopped = nil
    end

    # Registers pending templates, starts the dispatcher (loading the
    # library on first use), the processors and the watchdog, and returns
    # self. Blocks only on the database. Raises the engine's error
    # (ForkError, LibraryNotFoundError, ValidationError, ...), having started
    # nothing.
    def start
      OrchestrationManager.instance.flush_pending!
      OrchestrationManager.instance.validate_handlers!
      @namespaces = claimed_namespaces
      @templates = claimed_templates
      warn_about_pool
      @dispatcher = Dispatcher.start(dispatcher_config)
      @manager = Manager.new(dispatcher: @dispatcher, count: @threads, logger: @logger, on_fatal: method(:fatal!)).start
      @watchdog = Watchdog.new(manager: @manager, timeout_grace: @timeout_grace, logger: @logger).start
      @logger.info("tasker_core: worker #{@worker_id} started: #{@threads} processors, #{claims}")
      self
    end

    # The namespaces to claim: as given, or those of the registered task
    # handlers (a worker with no handlers has nothing to run). A namespace
    # given with no handler registered in it could only burn attempts.
    def claimed_namespaces
      return :all if @namespaces == :all

      registered = OrchestrationManager.instance.handlers.map(&:namespace).uniq.sort
      if registered.empty?
        raise ValidationError, "worker #{@worker_id}: no task handlers are registered, so it could run no step; " \
                               "register templates first, or pass namespaces: :all to claim every namespace"
      end
      return registered if @namespaces.empty?

      missing = @namespaces - registered
      return @namespaces if missing.empty?

      raise ValidationError, "worker #{@worker_id}: no task handler is registered in namespace(s) #{missing.join(', ')} " \
                             "(registered: #{registered.join(', ')}), so their steps could only fail; " \
                             "register their templates, or pass namespaces: :all to claim every namespace"
    end
    private :claimed_namespaces

    # Only the registered template versions of the claimed namespaces: in a
    # rolling deploy an old worker leaves a new version's steps to the
    # workers that have its handlers, with no attempt spent on "no task
    # handler". namespaces: :all claims everything.
    def claimed_templates
      return nil if @namespaces == :all

      OrchestrationManager.instance.handlers.select { |h| @namespaces.include?(h.namespace) }
                          .map { |h| { namespace: h.namespace, name: h.name, version: h.version } }
                          .sort_by { |k| k.values_at(:namespace, :name, :version) }
    end
    private :claimed_templates

    # Handlers that use Active Record each hold a connection while they
    # run: more processors than the pool has connections wait for one
    # (ActiveRecord::ConnectionTimeoutError).
    def warn_about_pool
      return unless defined?(::ActiveRecord::Base) && ::ActiveRecord::Base.respond_to?(:connection_db_config)

      pool = ::ActiveRecord::Base.connection_db_config&.pool
      return unless pool && pool < @threads

      @logger.warn("tasker_core: worker #{@worker_id} runs #{@threads} processors but the Active Record pool has " \
                   "#{pool} connections: set pool: #{@threads} (or more) in config/database.yml")
    rescue StandardError => e
      @logger.debug("tasker_core: could not read the Active Record pool size: #{e.message}")
    end
    private :warn_about_pool

    # Stops taking steps: the dispatcher claims nothing more and gives back
    # what it claimed for no one; running handlers finish and report. Never
    # blocks.
    def quiet
      return unless @dispatcher

      @logger.info("tasker_core: worker #{@worker_id} quiet: finishing #{in_flight.size} running step(s), taking no more")
      @dispatcher.quiet
      @manager.quiet
    end

    # Quiets, waits up to +deadline+ seconds for running handlers, raises
    # Shutdown into the ones still running, then stops the dispatcher, which
    # gives their steps back (pending again, the attempt not counted).
    # Blocks. Returns true when every running step finished in time (a
    # second call returns the first one's answer).
    def stop(deadline: 25)
      @stop_lock.synchronize do
        return @stopped unless @stopped.nil?
        return @stopped = true unless @dispatcher

        until_time = monotonic + deadline
        @dispatcher.quiet
        clean = @manager.stop(until_time)
        @watchdog.stop
        released_none = @dispatcher.stop(clean ? 5_000 : 1_000)
        @dispatcher.free
        @logger.info("tasker_core: worker #{@worker_id} stopped#{clean ? '' : ' (handlers interrupted at the deadline; their steps were given back)'}")
        @stopped = clean && released_none
      end
    end

    # The block is called once, from a background thread, with the error of
    # the first fatal condition.
    def on_fatal(&block)
      @fatal_handler = block
    end

    # Records a fatal condition (Manager calls it; never blocks) and hands
    # it to the #on_fatal handler, or stops the worker.
    def fatal!(error)
      first = @lock.synchronize { @fatal_error.nil? && (@fatal_error = error) }
      return unless first

      @logger.error("tasker_core: worker #{@worker_id} cannot go on: #{error.class}: #{error.message} " \
                    "#{{ context: 'fatal', worker_id: @worker_id, processors: @threads }.inspect}")
      handler = @fatal_handler
      thread = Thread.new { handler ? handler.call(error) : stop(deadline: FATAL_STOP_DEADLINE) }
      thread.name = "tasker_core.launcher.fatal"
    end

    # Steps being run right now (workflow_step_ids).
    def in_flight
      @manager ? @manager.processors.filter_map { |p| p.job&.workflow_step_id } : []
    end

    def running?
      !@manager.nil? && @manager.processors.any?(&:alive?)
    end

    def stopping?
      @manager&.stopped? || false
    end

    # What the worker is doing, for health checks: "not_started", "running",
    # "quiet" (taking no more steps: TSTP, or stopping), "stopped" or
    # "fatal" (a fatal condition stopped it, or is stopping it).
    def state
      if @fatal_error then "fatal"
      elsif @dispatcher.nil? then "not_started"
      elsif !@stopped.nil? then "stopped"
      elsif stopping? then "quiet"
      else "running"
      end
    end

    # Processors configured, alive (their thread runs), busy (in a step)
    # and abandoned (stuck in a handler after a timeout, replaced).
    def processor_counts
      live = @manager ? @manager.processors : []
      { expected: @threads, alive: live.count(&:alive?), busy: live.count(&:job),
        abandoned: @manager ? @manager.abandoned.size : 0 }
    end

    # The dispatcher's counters and latency histograms
    # (tasker_dispatcher_stats), or nil before start and once stopped. Never
    # blocks (a stop in progress holds no lock this needs).
    def dispatcher_stats
      dispatcher = @dispatcher
      return nil if dispatcher.nil? || !@stopped.nil?

      dispatcher.stats
    rescue InvalidHandleError
      nil # freed by a stop that finished meanwhile (handle numbers are never reused)
    end

    private

    def dispatcher_config
      config = { worker_id: @worker_id, lease_ms: @lease_ms, default_step_timeout_ms: (@step_timeout * 1000).round,
                 fetch_poll_interval_ms: [(@poll_interval * 1000).round, 1].max }
      config[:templates] = @templates if @templates
      config
    end

    def claims
      return "namespaces: all" unless @templates

      "templates: #{@templates.map { |k| "#{k[:namespace]}/#{k[:name]}@#{k[:version]}" }.join(', ')}"
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
