# frozen_string_literal: true

# Dispatcher#complete_next: the processors' report (tasker_dispatcher_complete_next),
# which returns the outcome as int64 slots and hands the next step back in
# the same call.
RSpec.describe TaskerCore::Dispatcher do
  let(:chain) { { "first" => [], "second" => ["first"], "third" => ["second"] } }

  def start(namespace)
    described_class.start({ worker_id: "spec-#{namespace}-#{SecureRandom.hex(3)}", namespaces: [namespace],
                            fetch_poll_interval_ms: 50 })
  end

  def finish(dispatcher)
    dispatcher.stop(5_000)
    dispatcher.free
  end

  it "hands the next step back with a completion, and its result reads as the StepResult JSON does" do
    init = Workflows.handler("next_chain", chain, namespace: "spec_next").initialize_task(context: { "n" => 1 })
    dispatcher = start("spec_next")
    handoff = described_class::Handoff.new
    handed = 0
    # The flush that records a report claims the reporter's next step; it
    # is handed back unless the caller's thread ran before the flush gave it
    # out (rare: then the next next_step takes it).
    take = lambda do
      step = handoff.step
      handoff.step = nil
      handed += 1 if step
      step || dispatcher.next_step(5_000)
    end
    begin
      first = dispatcher.next_step(5_000)
      expect(first.step_name).to eq("first")
      results = { "out" => [1, "x"] }
      result = dispatcher.complete_next(first, results, handoff)
      expect(result).to be_frozen
      expect(result.to_h).to eq(step_id: first.workflow_step_id, task_id: init.task_id, step_name: "first", status: "complete",
                                attempts: 1, next_retry_at: nil, task_status: "in_progress", results: results, error: nil)
      expect(result.results).to be_frozen
      second = take.call
      expect(second).to be_a(TaskerCore::Types::FFIOutputs::ClaimedStep).and(be_frozen)
      expect([second.step_name, second.task_id, second.attempts]).to eq(["second", init.task_id, 1])
      expect(second.timeout_seconds).to be_positive # handed out: its attempt has started
      expect(second.dependency_results).to eq("first" => results)
      expect(handoff.closed).to be_falsey

      dispatcher.complete_next(second, {}, handoff)
      third = take.call
      expect(third.step_name).to eq("third")
      expect(handed).to be_positive
      last = dispatcher.complete_next(third, { "done" => true }, handoff)
      expect([last.status, last.task_status]).to eq(%w[complete complete])
      expect(handoff.step).to be_nil # nothing left to run: it does not wait for one
      status = TaskerCore::Engine.task_status(init.task_id)
      expect(status.status).to eq("complete")
      expect(status.steps.map { |s| [s.name, s.status, s.attempts] }).to eq([["first", "complete", 1], ["second", "complete", 1],
                                                                             ["third", "complete", 1]])
    ensure
      finish(dispatcher)
    end
  end

  it "hands nothing to a closed handoff, closes it once the dispatcher is quiet, and raises a refused report" do
    init = Workflows.handler("next_quiet", chain, namespace: "spec_next_quiet").initialize_task(context: {})
    dispatcher = start("spec_next_quiet")
    handoff = described_class::Handoff.new(nil, true)
    begin
      first = dispatcher.next_step(5_000)
      dispatcher.complete_next(first, {}, handoff)
      expect(handoff.step).to be_nil
      second = dispatcher.next_step(5_000) # the child waits for a next_step instead
      expect(second.step_name).to eq("second")
      expect { dispatcher.complete_next(first, {}, described_class::Handoff.new) }.to raise_error(TaskerCore::StaleClaimError)

      dispatcher.quiet
      open = described_class::Handoff.new
      result = dispatcher.complete_next(second, {}, open)
      expect(result.status).to eq("complete") # recorded although quiet
      expect([open.step, open.closed]).to eq([nil, true])
      expect(TaskerCore::Engine.task_status(init.task_id).step("third").status).to eq("pending")
    ensure
      finish(dispatcher)
    end
  end

  it "uses the outcome slots and codes of the library's header" do
    header = [File.join(File.dirname(TaskerCore::Native.library_path), "libtasker_core.h"),
              File.expand_path("../../../bindings/libtasker_core.h", __dir__)].find { |f| File.file?(f) }
    defines = File.read(header).scan(/^\s*#define (TASKER_(?:OUTCOME|STEP|TASK|NEXT)_\w+)\s+(\d+)/).to_h { |k, v| [k, Integer(v)] }
    native = TaskerCore::Native
    expect(defines.fetch("TASKER_OUTCOME_LEN")).to eq(native::OUTCOME_LEN)
    native::OUTCOME.each { |name, index| expect(defines.fetch("TASKER_OUTCOME_#{name.upcase}")).to eq(index) }
    native::STEP_STATUSES.each_with_index.drop(1).each { |s, i| expect(defines.fetch("TASKER_STEP_#{s.upcase}")).to eq(i) }
    native::TASK_STATUSES.each_with_index.drop(1).each { |s, i| expect(defines.fetch("TASKER_TASK_#{s.upcase}")).to eq(i) }
    expect(defines.keys.grep(/\ATASKER_(STEP|TASK)_/).size).to eq(native::STEP_STATUSES.size + native::TASK_STATUSES.size - 2)
    expect(%w[NONE STEP SHUTDOWN].map { |n| defines.fetch("TASKER_NEXT_#{n}") }).to eq([native::NEXT_NONE, native::NEXT_STEP, native::NEXT_SHUTDOWN])
  end
end
