# frozen_string_literal: true

require "socket"

module TaskerCore
  # Runs step handlers on N processor threads ("tasker_core.worker.<n>")
  # fed by the library's dispatcher, which claims a step only when a
  # processor is waiting for one, keeps the leases of running steps, and
  # fails an attempt that passes its timeout_seconds (the Watchdog then
  # interrupts that handler). A processor that dies is replaced. Stopping
  # finishes the running steps within the deadline and gives back the rest.
  # Runs embedded:
  #
  #   worker = TaskerCore::Worker.new(namespaces: ["fulfillment"], threads: 4).start
  #   ...
  #   worker.stop(deadline: 25)
  #
  # #run blocks until TERM or INT (TSTP quiets, TTIN dumps threads), as
  # `tasker-core worker` does. The work is done by Launcher, Manager,
  # Processor and Watchdog.
  class Worker
    attr_reader :namespaces, :threads, :lease_ms, :poll_interval, :step_timeout, :timeout_grace, :worker_id

    # Every argument defaults to TaskerCore.config's worker_* setting.
    # metrics_port: serves GET /metrics and /health there (MetricsServer;
    # 0 picks a free port, see #metrics_port) on metrics_host.
    # batch_size: is deprecated and ignored (the dispatcher claims one step
    # per waiting processor). Raises ArgumentError naming a bad argument.
    def initialize(namespaces: nil, threads: nil, lease_ms: nil, poll_interval: nil, step_timeout: nil,
                   timeout_grace: nil, worker_id: nil, logger: TaskerCore.logger, batch_size: nil,
                   metrics_port: nil, metrics_host: nil)
      cfg = TaskerCore.config
      @logger = logger
      @namespaces = worker_namespaces(namespaces.nil? ? cfg.worker_namespaces : namespaces)
      @threads = check_int(:threads, threads || cfg.worker_threads, 1..256)
      @lease_ms = check_int(:lease_ms, lease_ms || cfg.worker_lease_ms, 100..86_400_000)
      @poll_interval = check_seconds(:poll_interval, poll_interval || cfg.worker_poll_interval)
      @step_timeout = check_seconds(:step_timeout, step_timeout || cfg.worker_step_timeout, least: 1)
      @timeout_grace = check_seconds(:timeout_grace, timeout_grace || cfg.worker_timeout_grace)
      deprecated_batch_size(batch_size) unless batch_size.nil?
      @worker_id = worker_id || "#{Socket.gethostname}:#{Process.pid}:#{object_id.to_s(36)}"
      @metrics = metrics_server(metrics_port.nil? ? cfg.worker_metrics_port : metrics_port,
                                metrics_host || cfg.worker_metrics_host)
      @launcher = Launcher.new(worker_id: @worker_id, namespaces: @namespaces, threads: @threads, lease_ms: @lease_ms,
                               step_timeout: @step_timeout, poll_interval: @poll_interval,
                               timeout_grace: @timeout_grace, logger: logger)
    end

    # Starts the metrics listener (if any), the dispatcher and the
    # processors; returns self. Blocks only on the database. Raises the
    # engine's error (ForkError, ...), or ArgumentError when the metrics
    # port cannot be bound, having started nothing.
    def start
      with_metrics { @launcher.start }
      self
    end

    # Takes no more steps; running ones finish. Never blocks.
    def quiet
      @launcher.quiet
    end

    # Stops within +deadline+ seconds (see Launcher#stop). Blocks. Returns
    # true when every running step finished in time; false when handlers
    # were interrupted at the deadline (their steps were given back).
    def stop(deadline: 25)
      @launcher.stop(deadline: deadline)
    ensure
      @metrics&.stop
    end

    # Starts, blocks until TERM or INT (or a fatal condition), then stops
    # within +deadline+. Returns #stop's answer; #fatal_error says whether a
    # fatal condition stopped it.
    def run(deadline: 25)
      @metrics&.start
      SignalLoop.new(@launcher, deadline: deadline, logger: @logger).run
    ensure
      @metrics&.stop
    end

    # The port of the metrics listener (the one chosen for metrics_port: 0),
    # nil without one.
    def metrics_port = @metrics&.port

    # "not_started", "running", "quiet", "stopped" or "fatal" (Launcher#state).
    def state = @launcher.state

    # {expected:, alive:, busy:, abandoned:} processor threads.
    def processor_counts = @launcher.processor_counts

    # The library dispatcher's counters and latency histograms as a Hash,
    # nil before start and once stopped. Never blocks.
    def dispatcher_stats = @launcher.dispatcher_stats

    def running?
      @launcher.running?
    end

    # Steps being run right now (workflow_step_ids).
    def in_flight
      @launcher.in_flight
    end

    # The error of the fatal condition that stopped the worker, or nil.
    def fatal_error
      @launcher.fatal_error
    end

    # The processors' threads (the live ones), for diagnostics.
    def processor_threads
      @launcher.manager ? @launcher.manager.processors.map(&:thread) : []
    end

    private

    def metrics_server(port, host)
      return nil if port.nil?

      check_int(:metrics_port, port, 0..65_535)
      raise ArgumentError, "metrics_host must be a non-empty String, got #{host.inspect}" unless host.is_a?(String) && !host.empty?

      MetricsServer.new(worker: self, host: host, port: port, logger: @logger)
    end

    # Binds the metrics listener first, so a port in use fails before any
    # step is claimed, and closes it if the block raises.
    def with_metrics
      @metrics&.start
      yield
    rescue StandardError
      @metrics&.stop
      raise
    end

    # :all (or "all" alone) claims every namespace; [] the namespaces of
    # the task handlers registered when the worker starts (the Launcher
    # resolves them), so a worker never claims steps it has no handler for.
    def worker_namespaces(value)
      return :all if value == :all || value == "all" || value == [:all] || value == ["all"]

      Array(value).map(&:to_s)
    end

    def deprecated_batch_size(value)
      check_int(:batch_size, value, 1..1000)
      @logger.warn("tasker_core: Worker batch_size: is deprecated and ignored: the dispatcher claims one step " \
                   "per waiting processor; remove it")
    end

    def check_int(name, value, range)
      return value if value.is_a?(Integer) && range.cover?(value)

      raise ArgumentError, "#{name} must be an Integer within #{range}, got #{value.inspect}"
    end

    def check_seconds(name, value, least: 0)
      return value if value.is_a?(Numeric) && value.positive? && value >= least && value.finite?

      raise ArgumentError, "#{name} must be a positive number of seconds#{least.positive? ? " (at least #{least})" : ''}, got #{value.inspect}"
    end
  end
end
