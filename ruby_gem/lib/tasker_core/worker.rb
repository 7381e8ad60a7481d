# frozen_string_literal: true

require "socket"

module TaskerCore
  # Runs step handlers: N threads ("tasker_core.worker.<n>") claim ready steps
  # in batches, run the pre-instantiated handlers one after another and
  # report each result; a heartbeat thread extends the leases of steps in
  # flight. Stopping gives back every claimed step not yet started
  # (tasker_step_release: pending again at once, the attempt not counted)
  # and lets the running ones finish. Runs embedded:
  #
  #   worker = TaskerCore::Worker.new(namespaces: ["fulfillment"], threads: 4).start
  #   ...
  #   worker.stop(deadline: 25)
  #
  # #run blocks until TERM or INT (the CLI uses it).
  class Worker
    TRANSIENT = [DatabaseError, TimeoutError, InternalError].freeze
    # The most one release may take while stopping (the deadline bounds it too).
    RELEASE_TIMEOUT_MS = 5_000

    attr_reader :namespaces, :threads, :batch_size, :lease_ms, :poll_interval, :worker_id

    def initialize(namespaces: nil, threads: nil, batch_size: nil, lease_ms: nil, poll_interval: nil,
                   worker_id: nil, logger: TaskerCore.logger)
      cfg = TaskerCore.config
      @namespaces = Array(namespaces || cfg.worker_namespaces).map(&:to_s)
      @threads = check_int(:threads, threads || cfg.worker_threads, 1..256)
      @batch_size = check_int(:batch_size, batch_size || cfg.worker_batch_size, 1..1000)
      @lease_ms = check_int(:lease_ms, lease_ms || cfg.worker_lease_ms, 100..86_400_000)
      @poll_interval = poll_interval || cfg.worker_poll_interval
      unless @poll_interval.is_a?(Numeric) && @poll_interval.positive?
        raise ArgumentError, "poll_interval must be a positive number of seconds, got #{@poll_interval.inspect}"
      end

      @worker_id = worker_id || "#{Socket.gethostname}:#{Process.pid}:#{object_id.to_s(36)}"
      @logger = logger
      @runner = StepRunner.new
      @lock = Mutex.new
      @wake = ConditionVariable.new
      @stopping = false
      @pool = []
      @backlog = Backlog.new
      @until_time = nil
    end

    # Starts the threads and returns self (does not block beyond registering
    # pending templates). Raises the first engine error (ForkError, ...).
    def start
      OrchestrationManager.instance.flush_pending!
      @heartbeat = Heartbeat.new(lease_ms: @lease_ms, logger: @logger).start
      @pool = Array.new(@threads) do |n|
        Thread.new { watchdog(n) }.tap { |t| t.name = "tasker_core.worker.#{n}" }
      end
      self
    end

    def running?
      @pool.any?(&:alive?)
    end

    # Steps being run right now (workflow_step_ids).
    def in_flight
      @heartbeat ? @heartbeat.in_flight : []
    end

    # Claimed steps no thread has started yet (workflow_step_ids).
    def backlog
      @backlog.step_ids
    end

    # Stops claiming and gives back at once (Engine.release_step) every
    # step claimed but not started, so it is ready again for another worker
    # with its attempt not counted. Steps whose handler is running finish
    # and report normally (a handler is never interrupted); waits up to
    # deadline seconds for them. A step still running then keeps its claim
    # until its lease expires, when the engine returns it to the ready set.
    # Returns true when every thread finished in time.
    def stop(deadline: 25)
      @until_time = monotonic + deadline
      unstarted = @backlog.close! # from here no thread starts another step
      @lock.synchronize do
        @stopping = true
        @wake.broadcast
      end
      release(unstarted)
      clean = @pool.all? { |t| t.join([@until_time - monotonic, 0].max) }
      @logger.warn("tasker_core: worker stopped with steps in flight: #{in_flight.inspect}") unless clean
      @heartbeat&.stop
      clean
    end

    # Starts, then blocks until TERM or INT, then stops within deadline.
    def run(deadline: 25)
      reader, writer = IO.pipe
      previous = %w[TERM INT].to_h { |sig| [sig, trap(sig) { writer.write_nonblock(sig, exception: false) }] }
      Native.ensure_ready! # loading after the traps lets Go add SA_ONSTACK to them
      Native.tasker_ensure_sigonstack # and again, in case it was loaded before (trap drops the flag)
      start
      reader.wait_readable
      @logger.info("tasker_core: stopping worker (deadline #{deadline}s)")
      stop(deadline: deadline)
    ensure
      previous&.each { |sig, handler| trap(sig, handler || "DEFAULT") }
      [reader, writer].each { |io| io&.close }
    end

    private

    def watchdog(n)
      claim_loop
    rescue Exception => e # rubocop:disable Lint/RescueException
      @logger.error("tasker_core: worker thread #{n} died: #{e.class}: #{e.message} " \
                    "#{{ worker_id: @worker_id, namespaces: @namespaces }.inspect}")
      raise
    end

    def claim_loop
      until @stopping
        steps = claim
        if steps.empty?
          pause
          next
        end
        claimed_at = monotonic
        unless @backlog.add(steps)
          release(steps) # stop began while this thread was claiming
          break
        end

        steps.each do |claimed|
          break unless @backlog.take(claimed) # stop released the rest
          next unless still_leased?(claimed, claimed_at)

          @heartbeat.track(claimed) { run_one(claimed) }
        end
      end
    end

    # A step that waited behind the rest of its batch for half its lease
    # may have lost it (the heartbeat covers running steps only): renew it
    # before running, and skip it when another worker has taken it over, so
    # a step never runs twice.
    def still_leased?(claimed, claimed_at)
      return true if (monotonic - claimed_at) * 1000 < @lease_ms / 2

      Engine.heartbeat(step_id: claimed.workflow_step_id, claim_token: claimed.claim_token, lease_ms: @lease_ms)
      true
    rescue StaleClaimError => e
      @logger.warn("tasker_core: step #{claimed.workflow_step_id} waited too long in its batch and was " \
                   "reclaimed; not running it here: #{e.message}")
      false
    rescue ForkError
      raise
    rescue Error => e
      @logger.error("tasker_core: renewing the lease of step #{claimed.workflow_step_id} failed; not running it " \
                    "here (it runs again when its lease expires): #{e.class}: #{e.message}")
      false
    end

    # Gives back steps this worker will not run, within stop's deadline. A
    # step not given back only waits longer: its lease expires and the
    # engine returns it to the ready set.
    def release(steps)
      steps.each do |claimed|
        left_ms = ((@until_time - monotonic) * 1000).floor
        if left_ms <= 0
          @logger.warn("tasker_core: stop deadline passed; step #{claimed.workflow_step_id} runs again when its lease expires")
          next
        end
        Engine.release_step({ step_id: claimed.workflow_step_id, claim_token: claimed.claim_token,
                              reason: "worker #{@worker_id} stopping" }, timeout_ms: [left_ms, RELEASE_TIMEOUT_MS].min)
      rescue StaleClaimError => e
        @logger.warn("tasker_core: step #{claimed.workflow_step_id} was no longer ours to release: #{e.message}")
      rescue Error => e
        @logger.error("tasker_core: releasing step #{claimed.workflow_step_id} failed (it runs again when its " \
                      "lease expires): #{e.class}: #{e.message}")
      end
    end

    def claim
      params = { limit: @batch_size, worker_id: @worker_id, lease_ms: @lease_ms }
      params[:namespaces] = @namespaces unless @namespaces.empty?
      Engine.claim(params)
    rescue *TRANSIENT => e
      @logger.error("tasker_core: claim failed, retrying in #{@poll_interval}s: #{e.class}: #{e.message}")
      []
    end

    # Runs a handler and reports it. A report the engine refuses is logged and
    # the thread goes on: one bad step must not take a worker thread down.
    def run_one(claimed)
      @runner.run(claimed)
    rescue StaleClaimError => e
      @logger.warn("tasker_core: result of step #{claimed.workflow_step_id} dropped: #{e.message}")
    rescue ForkError
      raise
    rescue Error => e
      @logger.error("tasker_core: reporting step #{claimed.workflow_step_id} failed (its lease will expire and " \
                    "it will run again): #{e.class}: #{e.message}")
    end

    def pause
      @lock.synchronize { @wake.wait(@lock, @poll_interval) unless @stopping }
    end

    def check_int(name, value, range)
      return value if value.is_a?(Integer) && range.cover?(value)

      raise ArgumentError, "#{name} must be an Integer within #{range}, got #{value.inspect}"
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end
end
