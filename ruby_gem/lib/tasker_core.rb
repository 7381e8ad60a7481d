# frozen_string_literal: true

# tasker_core: workflow orchestration for Ruby on a Go engine and PostgreSQL.
#
# Requiring this file loads only Ruby. The native library (libtasker_core.so)
# is loaded on the first call that needs it (DESIGN Rule 3), so a Puma master
# with preload_app! can require the gem and define handlers, and each forked
# worker loads its own copy of the Go runtime.
require "json"
require "monitor"
require "time"

require_relative "tasker_core/version"
require_relative "tasker_core/errors"
require_relative "tasker_core/config"
require_relative "tasker_core/database_url"
require_relative "tasker_core/engine_schema"
require_relative "tasker_core/structure_filter"
require_relative "tasker_core/fork_guard"
require_relative "tasker_core/native"
require_relative "tasker_core/native/handle"
require_relative "tasker_core/types"
require_relative "tasker_core/json_encoder"
require_relative "tasker_core/class_resolver"
require_relative "tasker_core/events"
require_relative "tasker_core/engine"
require_relative "tasker_core/operations"
require_relative "tasker_core/outbox"
require_relative "tasker_core/execution/task"
require_relative "tasker_core/execution/sequence"
require_relative "tasker_core/execution/step"
require_relative "tasker_core/step_handler/base"
require_relative "tasker_core/task_handler/template"
require_relative "tasker_core/task_handler/base"
require_relative "tasker_core/orchestration_manager"
require_relative "tasker_core/metrics"
require_relative "tasker_core/metrics/worker_gauges"
require_relative "tasker_core/metrics/library_gauges"
require_relative "tasker_core/metrics/database_gauges"
require_relative "tasker_core/health"
require_relative "tasker_core/metrics_server"
require_relative "tasker_core/step_runner"
require_relative "tasker_core/dispatcher"
require_relative "tasker_core/processor"
require_relative "tasker_core/manager"
require_relative "tasker_core/watchdog"
require_relative "tasker_core/launcher"
require_relative "tasker_core/signal_loop"
require_relative "tasker_core/worker"
require_relative "tasker_core/testing"

module TaskerCore
  # The ActiveJob integration loads (with the activejob gem) on first
  # reference, so requiring the gem never requires Rails.
  autoload :StartTaskJob, File.expand_path("tasker_core/start_task_job", __dir__)
  module StepHandler
    autoload :ActiveJobStep, File.expand_path("tasker_core/step_handler/active_job_step", __dir__)
  end

  @config = Config.new
  @config_lock = Mutex.new

  class << self
    def config
      @config
    end

    # Yields the Config; see Config::DEFAULTS. Engine settings apply when the
    # library is first loaded (or after TaskerCore.shutdown).
    def configure
      @config_lock.synchronize { yield @config }
      @config
    end

    def logger
      @config.logger
    end

    # Subscribes to a lifecycle event; raises ArgumentError listing the valid
    # names for an unknown one. Returns the block (for Events.unsubscribe).
    def on(event, &block)
      Events.subscribe(event, &block)
    end

    # Registers the YAML template at path (see TaskHandler::Base.from_yaml).
    def register_template(path)
      TaskHandler::Base.from_yaml(path)
    end

    # Starts a task as part of the caller's database transaction: writes a
    # task request (a Hash or keywords, as for initialize_task) on connection (an
    # ActiveRecord connection, a model class, or a PG::Connection; default
    # ActiveRecord::Base.connection), so a rollback leaves nothing and at
    # commit a worker's dispatcher creates the task. Returns the pending
    # TaskRequestStatus; its task_request_id finds the task later
    # (task_request). Raises ValidationError naming the field before
    # anything is written; template checks (unknown template, context
    # schema) happen when the request is taken up, which fails it (see
    # task_requests(status: "failed")). Blocks on connection only, unless
    # task handlers defined in this process still need registering.
    #
    #   Order.transaction do
    #     order = Order.create!(params)
    #     TaskerCore.request_task(namespace: "fulfillment", name: "ship_order", context: { "order_id" => order.id })
    #   end
    def request_task(request = nil, connection: nil, **fields)
      raise ArgumentError, "request_task: pass the request as a Hash or as keywords, not both" if request && fields.any?

      Outbox.write(request || fields, connection)
    end

    # The committed task request with this id (TaskRequestStatus: pending,
    # created / duplicate with task_id, failed with error). Blocks; raises
    # NotFoundError for an id never committed, or pruned (7 days after its
    # task was made).
    def task_request(task_request_id)
      Engine.task_request(task_request_id)
    end

    # Task requests oldest first, e.g. the failed ones an operator should
    # look at: task_requests(status: "failed"). Blocks.
    def task_requests(status: nil, limit: 100, after_id: nil)
      Engine.task_requests({ status: status, limit: limit, after_id: after_id }.compact)
    end

    # Makes a failed task request pending again (once its template is
    # registered, say); a worker takes it up. Blocks; raises
    # InvalidTransitionError unless it failed.
    def retry_task_request(task_request_id)
      Engine.retry_task_request(task_request_id)
    end

    # Takes up to limit pending task requests up now, in this process (what
    # a running worker does by itself): for tests, or a deployment without
    # workers on the request side. Blocks; returns [TaskRequestOutcome].
    def take_up_task_requests(limit: 100)
      Engine.take_up_task_requests(limit)
    end

    # Applies the database migrations (blocks).
    def migrate
      Engine.migrate
    end

    # A health check: one round trip to the database (optionally waiting
    # sleep_ms there with pg_sleep), bounded by timeout_ms (nil: the
    # configured call_timeout_ms; 0: the engine's default of 30 s). Returns
    # the round trip's wall time in seconds; raises TaskerCore::DatabaseError
    # (server unreachable), TimeoutError or ValidationError (sleep_ms outside
    # 0..60000). The GVL is released while it waits, so other threads keep
    # running. Like any engine call it loads and initializes the library on
    # first use (not timed), so don't call it in a forking server's master.
    #
    #   get("/health") { TaskerCore.ping(timeout_ms: 1_000); "ok" }
    def ping(sleep_ms: 0, timeout_ms: nil)
      Native.ensure_ready!
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      Engine.ping(sleep_ms: sleep_ms, timeout_ms: timeout_ms)
      Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    end

    # Closes the engine's pool (blocks up to timeout_ms).
    def shutdown(timeout_ms: 5_000)
      Native.shutdown(timeout_ms: timeout_ms)
    end
  end
end

require_relative "tasker_core/railtie" if defined?(Rails::Railtie)
