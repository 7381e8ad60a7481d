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
  end
end
