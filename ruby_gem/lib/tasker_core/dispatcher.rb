# frozen_string_literal: true

module TaskerCore
  # One worker's dispatcher inside the library (tasker_dispatcher_*, see
  # bindings/ABI.md "Dispatcher"). Go claims steps only for processor threads
  # waiting in #next_step, extends the leases of running steps, fails an
  # attempt that passes its timeout_seconds, and records every processor's
  # reports together. Ruby only asks: nothing here runs a thread.
  #
  # #start, #next_step, #complete, #complete_next, #fail and #stop block
  # with the GVL released; #quiet and #stats return at once. Errors are TaskerCore::Error
  # subclasses.
  class Dispatcher
    In = Types::FFIInputs
    Out = Types::FFIOutputs

    # Starts a dispatcher. config: Types::FFIInputs::DispatcherConfig
    # ({worker_id:, namespaces?:, lease_ms?:, default_step_timeout_ms?:, ...}).
    # Raises ValidationError, NotInitializedError, ForkError, DatabaseError.
    def self.start(config, timeout_ms: TaskerCore.config.call_timeout_ms)
      params = In.validate!(:dispatcher_start, In::DispatcherConfig, config)
      id = Native.call_handle(:tasker_dispatcher_start, JSONEncoder.encode!(params, what: "dispatcher_start"), timeout_ms)
      new(Native::Handle.new(id), params[:worker_id])
    end

    attr_reader :worker_id

    def initialize(handle, worker_id)
      @handle = handle
      @worker_id = worker_id
    end

    # Blocks up to timeout_ms for the next step to run. Returns a
    # Types::FFIOutputs::ClaimedStep whose attempt has started (report it),
    # or nil when none came in time. Raises ShutdownError once the dispatcher
    # is quiet or stopped: the caller should exit.
    def next_step(timeout_ms)
      id = Native.call_handle(:tasker_dispatcher_next, @handle.id, timeout_ms)
      return nil if id.zero?

      begin
        Out::ClaimedStep.from_h(Native.handle_json(id, freeze: true), frozen: true)
      ensure
        Native.handle_free(id)
      end
    end

    # Reports a step's results; returns the StepResult Hash once durable.
    # Raises StaleClaimError when the claim no longer holds (timed out,
    # rescued, released). The same params as Engine.complete.
    def complete(params, timeout_ms: TaskerCore.config.call_timeout_ms)
      report(:complete_step, :tasker_dispatcher_complete, In::StepCompletion, params, timeout_ms)
    end

    # A processor's slot for #complete_next, reused: step is the next step
    # to run (a ClaimedStep whose attempt has started) or nil; closed is set
    # by the processor when it takes no more steps and by #complete_next
    # when the dispatcher is quiet or stopped (as ShutdownError from
    # #next_step). A closed handoff receives no step.
    Handoff = Struct.new(:step, :closed)

    # StepRunner's own path for #complete (tasker_dispatcher_complete_next):
    # claimed is the ClaimedStep (its id and claim_token are the library's
    # values) and results already passed JSONEncoder.check!, so nothing
    # user-given goes unchecked and dry-types is not run again. Returns the
    # Types::FFIOutputs::StepHandleResult once durable (results
    # deep-frozen). With a handoff not closed, the same call takes the step
    # the library has ready for this processor at once (it never waits for
    # one) and leaves it in handoff.step. Raises as #complete.
    def complete_next(claimed, results, handoff = nil, timeout_ms: TaskerCore.config.call_timeout_ms)
      json = JSON.generate({ step_id: claimed.workflow_step_id, claim_token: claimed.claim_token, results: results },
                           allow_nan: false, max_nesting: false)
      take = !handoff.nil? && !handoff.closed
      slots = Native.complete_next(@handle.id, json, timeout_ms, take)
      if take
        step = slots[Native::OUTCOME_LEN]
        handoff.step = step && Out::ClaimedStep.from_h(JSON.parse(step, max_nesting: false, freeze: true), frozen: true)
        handoff.closed = true if slots[Native::OUTCOME[:next]] == Native::NEXT_SHUTDOWN
      end
      step_result(slots, claimed.step_name, Out.deep_freeze(results))
    end

    # Reports a failed attempt; see #complete. The same params as Engine.fail.
    def fail(params, timeout_ms: TaskerCore.config.call_timeout_ms)
      report(:fail_step, :tasker_dispatcher_fail, In::StepFailure, params, timeout_ms)
    end

    # Stops claiming: waiting and later #next_step calls raise
    # ShutdownError; steps claimed and not handed out are given back.
    # Running steps go on and report normally. Never blocks.
    def quiet
      simple(:tasker_dispatcher_quiet)
    end

    # Quiets, waits up to timeout_ms for running steps to report, then gives
    # back the steps still running (pending again, the attempt not counted)
    # and stops the library's goroutines. Returns true when nothing had to be
    # given back, false when the deadline passed first (TimeoutError from
    # the library, whose message names the steps).
    def stop(timeout_ms)
      simple(:tasker_dispatcher_stop, timeout_ms)
      true
    rescue TimeoutError => e
      TaskerCore.logger.warn("tasker_core: dispatcher #{@worker_id} stopped: #{e.message}")
      false
    end

    # The library's counters as a Hash: "waiting", "running",
    # "queued_reports", "claimed", "completed", "failed", "timed_out",
    # "stale", "released", "quiet", ... Never blocks.
    def stats
      Native.call(:tasker_dispatcher_stats, @handle.id)
    end

    # Frees the handle (a dispatcher not stopped yet stops in the background).
    def free
      @handle.free
    end

    private

    def report(operation, function, type, params, timeout_ms)
      params = In.validate!(operation, type, params)
      Native.call(function, @handle.id, JSONEncoder.encode!(params, what: operation.to_s), timeout_ms)
    end

    # The StepHandleResult of an outcome's slots, as StepHandleResult.from_step_result
    # builds it from the StepResult JSON.
    def step_result(slots, step_name, results)
      retry_at = slots[Native::OUTCOME[:next_retry_at_ms]]
      Out::StepHandleResult.new(
        step_id: slots[Native::OUTCOME[:workflow_step_id]], task_id: slots[Native::OUTCOME[:task_id]], step_name: step_name,
        status: Native::STEP_STATUSES.fetch(slots[Native::OUTCOME[:status]]), attempts: slots[Native::OUTCOME[:attempts]],
        next_retry_at: retry_at.zero? ? nil : Time.at(retry_at, :millisecond).utc.iso8601(3).freeze,
        task_status: Native::TASK_STATUSES.fetch(slots[Native::OUTCOME[:task_status]]), results: results, error: nil
      ).freeze
    end

    def simple(function, *args)
      Native.ensure_ready!
      err = FFI::MemoryPointer.new(:pointer)
      Native.check!(Native.public_send(function, @handle.id, *args, err), err, function)
      nil
    end
  end
end
