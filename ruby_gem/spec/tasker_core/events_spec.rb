# frozen_string_literal: true

RSpec.describe TaskerCore::Events do
  after { described_class.clear! }

  it "rejects unknown event names, listing the valid ones" do
    expect { TaskerCore.on("step.exploded") { nil } }
      .to raise_error(ArgumentError, /Invalid event name: "step.exploded"; valid names: .*step\.failed/)
  end

  it "publishes lifecycle events from the step runner" do
    seen = Queue.new
    %w[step.completed step.failed step.retry_requested task.completed].each do |name|
      TaskerCore.on(name) { |payload| seen << [name, payload[:step_name] || payload[:task_id]] }
    end
    TaskerCore.on("step.completed") { raise "a broken subscriber" } # logged, the others still run
    h = Workflows.handler("evented", { "a" => [], "b" => ["a"] })
    init = h.initialize_task(context: { "failures" => { "b" => "retry_once" } })
    run_task_to_completion(init.task_id)
    events = Array.new(seen.size) { seen.pop }
    expect(events).to eq([["step.completed", "a"], ["step.failed", "b"], ["step.retry_requested", "b"],
                          ["step.completed", "b"], ["task.completed", init.task_id]])
  end

  it "instruments through ActiveSupport::Notifications when it is loaded" do
    require "active_support/notifications"
    names = []
    sub = ActiveSupport::Notifications.subscribe(/\Atasker_core\./) { |name, *| names << name }
    h = Workflows.handler("as_evented", { "a" => [] })
    run_task_to_completion(h.initialize_task(context: {}).task_id)
    ActiveSupport::Notifications.unsubscribe(sub)
    expect(names).to include("tasker_core.step.completed", "tasker_core.task.completed")
    expect(names.count("tasker_core.step.handle")).to eq(1)

    slow = Workflows.handler("as_timed", { "a" => [] }, handler: "SpecHandlers::Slow")
    handled = []
    sub = ActiveSupport::Notifications.subscribe("tasker_core.step.handle") do |*args|
      handled << ActiveSupport::Notifications::Event.new(*args)
    end
    run_task_to_completion(slow.initialize_task(context: { "sleep" => 0.2 }).task_id)
    ActiveSupport::Notifications.unsubscribe(sub)
    expect(handled.size).to eq(1)
    expect(handled.first.duration).to be >= 200 # ms: the instrument block wraps the handler
    expect(handled.first.payload).to include(step_name: "a", attempts: 1)
  end

  it "fires every declared event, with ids, names, attempts, durations and the exception" do
    seen = Hash.new { |h, k| h[k] = [] }
    described_class::NAMES.each { |name| TaskerCore.on(name) { |payload| seen[name] << payload } }
    # A run with a retry that then fails for good (b: retry_limit 2), then an operator's moves.
    h = Workflows.handler("every_event", { "a" => [], "b" => ["a"], "c" => ["a"] }, retry_limit: 2)
    init = h.initialize_task(context: { "failures" => { "b" => "always" } })
    run_task_to_completion(init.task_id)
    TaskerCore::Engine.resolve_step(step_id: init.step_id("b"), reason: "spec")
    failing = h.initialize_task(context: { "failures" => { "b" => "always" } })
    run_task_to_completion(failing.task_id)
    TaskerCore::Engine.retry_task(task_id: failing.task_id, reason: "try again")
    cancelled = h.initialize_task(context: {})
    TaskerCore::Engine.cancel_task(task_id: cancelled.task_id, reason: "not needed")

    expect(described_class::NAMES - seen.keys).to be_empty
    expect(seen["task.initialize_requested"].first).to include(task_id: init.task_id, name: "every_event_wf", step_count: 3)
    expect(seen["step.initialize_requested"].map { |p| p[:step_name] }.first(3)).to contain_exactly("a", "b", "c")
    expect(seen["step.execution_requested"].first).to include(task_id: init.task_id, step_name: "a", attempts: 1)
    expect(seen["step.handle"].first[:duration_ms]).to be >= 0
    failed = seen["step.failed"].first
    expect(failed[:exception_object]).to be_a(StandardError)
    expect(failed[:exception]).to eq([failed[:error_class], failed[:error_message]])
    expect(seen["step.max_retries_reached"].first).to include(step_name: "b", attempts: 2)
    expect(seen["step.resolved_manually"].first).to include(step_id: init.step_id("b"), reason: "spec")
    expect(seen["task.retry_requested"].first).to include(task_id: failing.task_id, reason: "try again")
    expect(seen["task.cancelled"].first).to include(task_id: cancelled.task_id, reason: "not needed")
    expect(seen["step.cancelled"].map { |p| p[:step_name] }).to contain_exactly("a", "b", "c")
  end

  it "tells the error_reporter of every exception a handler raises, and survives a broken reporter" do
    reported = Queue.new
    TaskerCore.config.error_reporter = ->(error, context) { reported << [error.class, context[:step_name], context[:attempts]] }
    h = Workflows.handler("reported", { "a" => [] }, retry_limit: 2)
    run_task_to_completion(h.initialize_task(context: { "failures" => { "a" => "always" } }).task_id)
    expect(Array.new(reported.size) { reported.pop }).to eq([[RuntimeError, "a", 1], [RuntimeError, "a", 2]])
    TaskerCore.config.error_reporter = ->(*) { raise "reporter down" }
    init = h.initialize_task(context: { "failures" => { "a" => "always" } })
    expect { run_task_to_completion(init.task_id) }.not_to raise_error
    expect(TaskerCore::Engine.task_status(init.task_id).status).to eq("error")
  ensure
    TaskerCore.config.error_reporter = nil
  end
end

