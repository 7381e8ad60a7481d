# frozen_string_literal: true

module TaskerCore
  # The operations surface in Ruby: what `tasker-core list/show/retry/
  # cancel/resolve/stuck/stats` do, for a console, a dashboard or a script.
  # Reads return the library's JSON (bindings/ABI.md) as deep-frozen Hashes;
  # actions on several ids report one Outcome per id. Every method blocks on
  # the database.
  module Operations
    TASK_STATES = %w[pending in_progress complete error cancelled resolved_manually].freeze
    MAX_PAGE = 500
    MAX_STATS_MINUTES = 1440

    # What became of one id of an action: ok with the new status, or the
    # error that refused it (nothing of that id was changed then).
    Outcome = Struct.new(:id, :status, :error, keyword_init: true) do
      def ok? = error.nil?

      def to_h
        { "id" => id, "ok" => ok?, "status" => status,
          "error" => error && { "code" => error.code, "message" => error.message, "details" => error.details } }
      end
    end

    module_function

    # A page of tasks, newest first. states: task states (any of);
    # namespace/name/version: a template filter; older_than/newer_than:
    # seconds since the request; before: the cursor (the previous page's
    # "next_before_task_id"); limit: 1..500 (50). Raises ValidationError
    # naming the field, NotFoundError for a namespace or template with
    # nothing registered.
    def list(states: [], namespace: nil, name: nil, version: nil, older_than: nil, newer_than: nil, before: nil, limit: nil)
      states = Array(states).map(&:to_s)
      unknown = states.find { |s| !TASK_STATES.include?(s) }
      if unknown
        raise ValidationError.new("list_tasks: unknown task state #{unknown.inspect}; valid states: #{TASK_STATES.join(', ')}",
                                  details: { "field" => "states" })
      end
      if limit && !(limit.is_a?(Integer) && limit.between?(1, MAX_PAGE))
        raise ValidationError.new("list_tasks: limit must be within 1..#{MAX_PAGE}, got #{limit.inspect}",
                                  details: { "field" => "limit" })
      end
      Engine.list_tasks({ states: states.empty? ? nil : states, namespace: namespace, name: name, version: version,
                          older_than_seconds: older_than, newer_than_seconds: newer_than, before_task_id: before,
                          limit: limit }.compact)
    end

    # A task with every step (state, attempts, duration, last error) and
    # each step's dependency level, as one Hash. Raises NotFoundError.
    def show(task_id)
      status = Engine.task_status(task_id)
      levels = Engine.dependency_levels(task_id)
      task = status.to_h.transform_keys(&:to_s)
      task["steps"] = status.steps.map do |s|
        s.to_h.transform_keys(&:to_s).merge("dependency_level" => levels.fetch(s.workflow_step_id, 0))
      end
      task
    end

    # A task's transitions and its steps' (Engine.task_transitions): who
    # moved what when, each failed attempt's error class and message, an
    # operator's reason. Raises NotFoundError.
    def history(task_id)
      Engine.task_transitions(task_id)
    end

    # Moves each task in error back to pending (Engine.retry_task), one
    # transaction per id; yields each Outcome as it comes. Returns the
    # Outcomes in the order of ids.
    def retry_tasks(ids, reason: nil, &block)
      each_id(ids, block) { |id| Engine.retry_task(task_action(id, reason)).status }
    end

    # Cancels each task (Engine.cancel_task), one transaction per id.
    def cancel_tasks(ids, reason: nil, &block)
      each_id(ids, block) { |id| Engine.cancel_task(task_action(id, reason)).status }
    end

    # Resolves a step manually; returns the StepResult Hash. Raises
    # NotFoundError, InvalidTransitionError (a step in progress or done).
    def resolve_step(step_id, reason: nil, results: nil)
      params = { step_id: step_id, reason: reason }.compact
      params[:results] = results unless results.nil?
      Engine.resolve_step(params)
    end

    # What is stuck now: steps past their lease or their timeout (the
    # template's, else default_step_timeout seconds, the worker setting by
    # default) and tasks with nothing runnable, each with its reason.
    def stuck(default_step_timeout: TaskerCore.config.worker_step_timeout, limit: nil)
      Engine.stuck_work({ default_step_timeout_ms: (default_step_timeout * 1000).round, limit: limit }.compact)
    end

    # Tasks and open steps by state, ready steps and the oldest one's wait,
    # recorded stuck work and the last +minutes+ minutes' throughput.
    def stats(minutes: nil)
      Engine.operations_stats({ minutes: minutes }.compact)
    end

    def task_action(id, reason)
      { task_id: id, reason: reason }.compact
    end

    def each_id(ids, block)
      ids.map do |id|
        outcome = begin
          Outcome.new(id: id, status: yield(id))
        rescue Error => e
          Outcome.new(id: id, error: e)
        end
        block&.call(outcome)
        outcome
      end
    end
  end
end
