# frozen_string_literal: true

module TaskerCore
  # The engine's operations as Ruby methods: each validates its input with
  # Types::FFIInputs, encodes it, calls the library through Native.call and
  # returns a parsed Hash or a Types::FFIOutputs value. Every method blocks
  # on the database (the GVL is released meanwhile) and raises a
  # TaskerCore::Error subclass on failure.
  module Engine
    In = Types::FFIInputs
    Out = Types::FFIOutputs

    module_function

    # Applies the embedded migrations; returns {"applied" => [...], "current_version" => n}.
    def migrate
      Native.call(:tasker_migrate, timeout_ms)
    end

    # Registers a template spec (Types::FFIInputs::Template); returns the
    # TemplateResult Hash. The library validates the DAG.
    def register_template(spec)
      json_call(:register_template, :tasker_template_register, In::Template, spec)
    end

    # Creates a task; returns an InitializeResult. Raises ValidationError,
    # NotFoundError (unknown template), DuplicateTaskError.
    def initialize_task(request)
      OrchestrationManager.instance.flush_pending!
      result = Out::InitializeResult.from_h(json_call(:initialize_task, :tasker_task_initialize, In::TaskRequest, request))
      Testing.tracker.record(result.task_id)
      publish_initialized(request, result)
      result
    end

    # Leases up to params[:limit] ready steps; returns [ClaimedStep].
    def claim(params)
      json_call(:claim, :tasker_step_claim, In::Claim, params).fetch("steps").map { |s| Out::ClaimedStep.from_h(s) }
    end

    # Leases one named step; raises NotReadyError (#reason) when it cannot run.
    def claim_one(params)
      Out::ClaimedStep.from_h(json_call(:claim_one, :tasker_step_claim_one, In::ClaimOne, params))
    end

    # The results of named ancestors of a claimed step, at any depth, as
    # {name => results}: a claim carries only its direct parents' results.
    # params: {step_id:, claim_token:, names: [String]}, while the token holds
    # the step. Raises ValidationError naming a step that is not an ancestor
    # (details["field"] is "names[i]"), StaleClaimError once the claim is gone.
    def ancestor_results(params)
      json_call(:ancestor_results, :tasker_step_ancestor_results, In::AncestorResults, params).fetch("results")
    end

    def heartbeat(params)
      json_call(:heartbeat, :tasker_step_heartbeat, In::Heartbeat, params)
    end

    # Reports success; params[:results] must be JSON-encodable (JSONEncoder).
    def complete(params)
      json_call(:complete_step, :tasker_step_complete, In::StepCompletion, params)
    end

    def fail(params)
      json_call(:fail_step, :tasker_step_fail, In::StepFailure, params)
    end

    # Gives back a claimed step this process will not run (a worker
    # stopping): the step is pending again at once and the claim's attempt
    # does not count. params: {step_id:, claim_token:, reason?:}, as a Hash
    # or as keywords; timeout_ms overrides the configured call timeout.
    # Returns the StepResult Hash; raises StaleClaimError when the token no
    # longer holds the step.
    def release_step(params = nil, timeout_ms: nil, **keywords)
      json_call(:release_step, :tasker_step_release, In::Release, params || keywords, timeout_ms: timeout_ms)
    end

    # One database round trip (a health check), waiting sleep_ms there.
    # timeout_ms nil uses TaskerCore.config.call_timeout_ms.
    def ping(sleep_ms: 0, timeout_ms: nil)
      timeout_ms ||= self.timeout_ms
      { sleep_ms: sleep_ms, timeout_ms: timeout_ms }.each do |name, value|
        raise ValidationError, "ping: #{name} must be an Integer, got #{value.inspect}" unless value.is_a?(Integer)
      end
      Native.ping(sleep_ms, timeout_ms)
    end

    def resolve_step(params)
      result = json_call(:resolve_step, :tasker_step_resolve, In::ResolveStep, params)
      Events.publish("step.resolved_manually", task_id: result["task_id"], step_id: result["workflow_step_id"],
                                               step_name: result["step_name"], task_status: result["task_status"],
                                               reason: reason_of(params))
      Events.publish("task.completed", task_id: result["task_id"]) if result["task_status"] == "complete"
      result
    end

    def cancel_task(params)
      status = Out::TaskHandleResult.from_h(json_call(:cancel_task, :tasker_task_cancel, In::TaskAction, params))
      reason = reason_of(params)
      Events.publish("task.cancelled", task_id: status.task_id, reason: reason)
      if Events.listening?("step.cancelled")
        status.steps.select { |s| s.status == "cancelled" }.each do |s|
          Events.publish("step.cancelled", task_id: status.task_id, step_id: s.workflow_step_id, step_name: s.name,
                                           reason: reason)
        end
      end
      status
    end

    def retry_task(params)
      status = Out::TaskHandleResult.from_h(json_call(:retry_task, :tasker_task_retry, In::TaskAction, params))
      Events.publish("task.retry_requested", task_id: status.task_id, reason: reason_of(params))
      status
    end

    # Deletes tasks for good, in one transaction: each with its steps,
    # their edges, transitions and results (templates stay). params:
    # {task_ids: [Integer] (1..10_000), skip_missing?: false, force?: false}.
    # Returns {"purged_tasks" =>, "purged_steps" =>, "missing_task_ids" => []}.
    # Raises ValidationError, NotFoundError (ids naming no task, without
    # skip_missing: details["task_ids"]; nothing purged), ConflictError (a
    # step is held by a worker, without force: details["held"]; nothing
    # purged).
    def purge_tasks(params)
      json_call(:purge_tasks, :tasker_task_purge, In::PurgeTasks, params)
    end

    # Deletes every task of the database, as purge_tasks does (test suites,
    # development databases). params: {force?: false}.
    def purge_all_tasks(params = {})
      json_call(:purge_all_tasks, :tasker_task_purge_all, In::PurgeAllTasks, params)
    end

    # A page of tasks, newest first (bindings/ABI.md tasker_task_list):
    # {"tasks" => [...], "next_before_task_id" => id or nil}, deep-frozen.
    # Raises ValidationError (unknown state, page over 500, ...),
    # NotFoundError (nothing registered under the namespace or template).
    def list_tasks(params)
      Out.deep_freeze(json_call(:list_tasks, :tasker_task_list, In::TaskList, params))
    end

    # Tasks and open steps by state, ready steps, recorded stuck work and
    # the step throughput per minute (tasker_operations_stats), deep-frozen.
    def operations_stats(params = {})
      Out.deep_freeze(json_call(:stats, :tasker_operations_stats, In::Stats, params))
    end

    # What is stuck now (tasker_stuck_work): {"checked_at", "work" => [...]},
    # deep-frozen.
    def stuck_work(params = {})
      Out.deep_freeze(json_call(:stuck_work, :tasker_stuck_work, In::Stuck, params))
    end

    def task_status(task_id)
      Out::TaskHandleResult.from_h(id_call(:task_status, :tasker_task_status, task_id))
    end

    def execution_context(task_id)
      Out.deep_freeze(id_call(:execution_context, :tasker_task_execution_context, task_id))
    end

    def step_readiness(task_id)
      Out.deep_freeze(id_call(:step_readiness, :tasker_step_readiness, task_id).fetch("steps"))
    end

    # A task's history (tasker_task_transitions): {"task" => [...], "steps"
    # => [...], "truncated" => bool}, each transition {"workflow_step_id",
    # "step_name", "from_state", "to_state", "metadata", "created_at"},
    # oldest first, deep-frozen. Raises NotFoundError.
    def task_transitions(task_id)
      Out.deep_freeze(id_call(:task_transitions, :tasker_task_transitions, task_id))
    end

    # {workflow_step_id => level}
    def dependency_levels(task_id)
      id_call(:dependency_levels, :tasker_dependency_levels, task_id).fetch("levels")
        .to_h { |l| [l["workflow_step_id"], l["dependency_level"]] }
    end

    # The task request (TaskerCore.request_task) with this id, as committed:
    # a TaskRequestStatus. Raises NotFoundError (never committed, or pruned).
    def task_request(task_request_id)
      Out::TaskRequestStatus.from_h(id_call(:task_request, :tasker_task_request_get, task_request_id, name: "task_request_id"))
    end

    # Task requests oldest first; params: {status?:, limit?: (1..1000, 100),
    # after_id?:}. Returns [TaskRequestStatus].
    def task_requests(params)
      json_call(:task_requests, :tasker_task_requests_list, In::TaskRequestList, params)
        .fetch("requests").map { |r| Out::TaskRequestStatus.from_h(r) }
    end

    # Makes a failed task request pending again; returns its TaskRequestStatus.
    # Raises InvalidTransitionError for one that is not failed, NotFoundError.
    def retry_task_request(task_request_id)
      Out::TaskRequestStatus.from_h(id_call(:retry_task_request, :tasker_task_request_retry, task_request_id,
                                            name: "task_request_id"))
    end

    # One take-up round of up to limit (1..1000) pending task requests;
    # returns [TaskRequestOutcome].
    def take_up_task_requests(limit)
      unless limit.is_a?(Integer) && limit.between?(1, 1000)
        raise ValidationError, "take_up_task_requests: limit must be an Integer within 1..1000, got #{JSONEncoder.describe(limit)}"
      end

      outcomes = Native.call(:tasker_task_requests_take_up, limit, timeout_ms).fetch("requests")
                       .map { |o| Out::TaskRequestOutcome.from_h(o) }
      outcomes.each { |o| Testing.tracker.record(o.task_id) if o.status == "created" }
      outcomes
    end

    def publish_initialized(request, result)
      req = request.to_h.transform_keys(&:to_sym)
      Events.publish("task.initialize_requested", task_id: result.task_id, namespace: req[:namespace], name: req[:name],
                                                  version: req[:version], step_count: result.step_count)
      return unless Events.listening?("step.initialize_requested")

      result.step_mapping.each do |step_name, step_id|
        Events.publish("step.initialize_requested", task_id: result.task_id, step_id: step_id, step_name: step_name)
      end
    end

    def reason_of(params)
      params.to_h.transform_keys(&:to_sym)[:reason]
    end

    def json_call(operation, function, type, input, timeout_ms: nil)
      params = In.validate!(operation, type, input)
      Native.call(function, JSONEncoder.encode!(params, what: operation.to_s), timeout_ms || self.timeout_ms)
    end

    def id_call(operation, function, id, name: "task_id")
      unless ::Kernel === id && Types::PositiveId.valid?(id)
        raise ValidationError, "#{operation}: #{name} must be an Integer within 1..#{(2**63) - 1}, got #{JSONEncoder.describe(id)}"
      end

      Native.call(function, id, timeout_ms)
    end

    def timeout_ms
      TaskerCore.config.call_timeout_ms
    end
  end
end
