# frozen_string_literal: true

module TaskerCore
  # Runs one claimed step: finds its task handler, calls the pre-instantiated
  # step handler, and reports the outcome (complete with the results, or fail
  # with the error) through the reporter: Engine (Testing.handle_one_step) or
  # the worker's Dispatcher (Processor).
  class StepRunner
    BACKTRACE_LINES = 50

    # The failure as the engine stores it (jsonb): class, message and
    # backtrace as valid UTF-8, a NUL (which jsonb cannot hold) written out
    # as the six characters \u0000.
    def self.failure(error)
      { class: storable(error.class.name || error.class.inspect),
        message: storable(error.message.to_s),
        backtrace: Array(error.backtrace).first(BACKTRACE_LINES).map { |l| storable(l) } }
    end

    def self.storable(text)
      text.encode(Encoding::UTF_8, invalid: :replace, undef: :replace).gsub("\u0000", "\\u0000")
    end

    def initialize(manager: OrchestrationManager.instance, reporter: Engine)
      @manager = manager
      @reporter = reporter
      @checked = reporter.respond_to?(:complete_next)
    end

    # Blocks on the handler and on the report. Returns a StepHandleResult.
    # Any exception the handler raises (NoMemoryError, SystemExit, a custom
    # Exception subclass, StepTimeoutError) becomes the step's failure with
    # its class and message; only Shutdown passes through, unreported. A
    # block given wraps the handler call: it is yielded a callable that runs
    # the handler (Processor opens its interrupt window there). Raises
    # StaleClaimError when the claim was lost (timed out, lease expired).
    # A Dispatcher::Handoff given (with a Dispatcher as reporter) receives
    # the next step the library has ready for this processor, taken in the
    # same call that records a completion (see Dispatcher#complete_next).
    def run(claimed, handoff = nil)
      payload = { task_id: claimed.task_id, step_id: claimed.workflow_step_id, step_name: claimed.step_name,
                  attempts: claimed.attempts }
      Events.publish("step.execution_requested", payload)
      Events.publish("step.before_handle", payload)
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      begin
        results = Events.instrument("step.handle", payload) do
          block_given? ? yield(-> { execute(claimed) }) : execute(claimed)
        end
        JSONEncoder.check!(results, "results of step #{claimed.step_name.inspect}") unless JSONEncoder.valid?(results)
      rescue Shutdown
        raise
      rescue Exception => e # rubocop:disable Lint/RescueException
        return report_failure(claimed, e, timed(payload, started))
      end
      payload = timed(payload, started)
      begin
        report_success(claimed, results, payload, handoff)
      rescue ValidationError => e # e.g. results larger than the library accepts
        report_failure(claimed, e, payload)
      end
    end

    private

    def timed(payload, started)
      payload.merge(duration_ms: ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000).round(3))
    end

    # Inside the configured step_wrapper (Rails' executor: connections back
    # to the pool, query cache and CurrentAttributes reset after each step).
    def execute(claimed)
      wrapper = TaskerCore.config.step_wrapper
      wrapper ? wrapper.wrap { run_handler(claimed) } : run_handler(claimed)
    end

    def run_handler(claimed)
      handler = @manager.handler_for(claimed.namespace, claimed.task_name, claimed.task_version)
      task = Execution::Task.new(id: claimed.task_id, context: claimed.task_context, namespace: claimed.namespace,
                                 name: claimed.task_name, version: claimed.task_version)
      step = Execution::Step.new(id: claimed.workflow_step_id, name: claimed.step_name, attempts: claimed.attempts,
                                 retry_limit: claimed.retry_limit, retryable: claimed.retryable,
                                 config: claimed.handler_config, inputs: claimed.inputs)
      sequence = Execution::Sequence.new(claimed.dependency_results, step_id: claimed.workflow_step_id,
                                         claim_token: claimed.claim_token, step_name: claimed.step_name)
      handler.process_step_with_handler(task, sequence, step)
    end

    def report_success(claimed, results, payload, handoff)
      out = if @checked # results passed JSONEncoder.check! in #run; the ids are the library's
              @reporter.complete_next(claimed, results, handoff)
            else
              json = @reporter.complete({ step_id: claimed.workflow_step_id, claim_token: claimed.claim_token, results: results })
              Types::FFIOutputs::StepHandleResult.from_step_result(json, results: Types::FFIOutputs.deep_freeze(results))
            end
      Events.publish_to_subscribers("step.handle", payload) # ActiveSupport had it around the handler
      Events.publish("step.completed", payload)
      log_step(claimed, payload, out.status)
      Metrics.record_step(claimed.namespace, out.status, payload[:duration_ms])
      publish_task(out)
      out
    end

    def report_failure(claimed, error, payload)
      failure = describe(error)
      params = { step_id: claimed.workflow_step_id, claim_token: claimed.claim_token, error: failure }
      params[:permanent] = true if error.is_a?(PermanentError)
      params[:backoff_seconds] = error.retry_after.to_f if error.is_a?(RetryableError) && error.retry_after
      json = @reporter.fail(params)
      out = Types::FFIOutputs::StepHandleResult.from_step_result(json, error: Types::FFIOutputs.deep_freeze(failure.transform_keys(&:to_s)))
      failed = payload.merge(error_class: failure[:class], error_message: failure[:message], status: out.status,
                             exception: [failure[:class], failure[:message]], exception_object: error)
      report_error(error, failed)
      log_step(claimed, payload, out.status, failure)
      Metrics.record_step(claimed.namespace, out.status, payload[:duration_ms])
      Events.publish("step.failed", failed)
      Events.publish(out.status == "waiting_for_retry" ? "step.retry_requested" : "step.max_retries_reached", failed)
      publish_task(out)
      out
    end

    # Tells the configured error_reporter (Sentry and the like) of a
    # handler's exception; a reporter that raises is logged, never the
    # step's problem.
    def report_error(error, context)
      reporter = TaskerCore.config.error_reporter
      return unless reporter

      reporter.call(error, context.except(:exception_object, :exception))
    rescue StandardError => e
      TaskerCore.logger.error("tasker_core: error_reporter raised #{e.class}: #{e.message}")
    end

    # One line per step at info (a failure at warn), key=value so log search
    # tools can filter on it: what ran, which attempt, how long, how it ended.
    def log_step(claimed, payload, status, failure = nil)
      logger = TaskerCore.logger
      level = failure ? Logger::WARN : Logger::INFO
      return unless logger.level <= level

      line = +"tasker_core: step=#{claimed.step_name} task_id=#{claimed.task_id} step_id=#{claimed.workflow_step_id} " \
              "template=#{claimed.namespace}/#{claimed.task_name}@#{claimed.task_version} attempt=#{claimed.attempts} " \
              "duration_ms=#{payload[:duration_ms]} outcome=#{status}"
      line << " error=#{failure[:class]}: #{failure[:message]}" if failure
      logger.add(level, line)
    end

    def describe(error)
      self.class.failure(error)
    end

    def publish_task(out)
      case out.task_status
      when "complete" then Events.publish("task.completed", task_id: out.task_id)
      when "error" then Events.publish("task.failed", task_id: out.task_id, step_name: out.step_name)
      end
    end
  end
end
