# frozen_string_literal: true

require_relative "../support/worker_handlers"

# Processors under failure: any exception from a handler, a handler past its
# timeout, a processor that dies outside its handler, and the fatal rule.
RSpec.describe TaskerCore::Processor do
  def wait_until(timeout: 20, &block)
    WorkerSpecs.wait_until(timeout: timeout, &block)
  end

  def start_worker(namespace, threads: 2, **opts)
    TaskerCore::Worker.new(namespaces: [namespace], threads: threads, poll_interval: 0.05, **opts).start
  end

  {
    "custom" => ["SpecHandlers::CustomException", "custom exception in boom"],
    "no_memory" => ["NoMemoryError", "failed to allocate memory (pretend)"],
    "exit" => ["SystemExit", "exit"]
  }.each do |kind, (error_class, message)|
    it "fails the step of a handler raising #{error_class} (not a StandardError) and keeps every processor" do
      raiser = WorkerSpecs.handler("raise_#{kind}", ["boom"], handler: "SpecHandlers::Raiser", namespace: "spec_raise_#{kind}",
                                                               retry_limit: 1)
      bad = raiser.initialize_task(context: { "raise" => kind })
      good = Array.new(4) { raiser.initialize_task(context: {}) }
      worker = start_worker("spec_raise_#{kind}")
      begin
        ids = [bad, *good].map(&:task_id)
        expect(wait_until { ids.all? { |id| TaskerCore::Engine.task_status(id).finished? } }).to be(true)
        expect(WorkerSpecs.processor_threads.size).to eq(2)
        expect(worker.processor_threads.map(&:name)).to contain_exactly("tasker_core.worker.0", "tasker_core.worker.1")
      ensure
        expect(worker.stop(deadline: 5)).to be(true)
      end
      step = TaskerCore::Engine.task_status(bad.task_id).step("boom")
      expect([step.status, step.attempts]).to eq(["error", 1])
      expect(step.last_error).to include("class" => error_class, "message" => message)
      expect(good.map { |g| TaskerCore::Engine.task_status(g.task_id).status }).to all(eq("complete"))
    end
  end

  it "interrupts a handler past its timeout_seconds: the attempt fails as a timeout, the late result is rejected, " \
     "the retry completes, and the processor slot goes on" do
    handler = WorkerSpecs.handler("overrun", ["long"], handler: "SpecHandlers::Overrun", namespace: "spec_overrun",
                                                       timeout_seconds: 1)
    events = SpecHandlers::Overrun::EVENTS
    events.clear
    slow = handler.initialize_task(context: { "sleep" => 10 })
    worker = start_worker("spec_overrun", threads: 1)
    begin
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect(wait_until { TaskerCore::Engine.task_status(slow.task_id).finished? }).to be(true)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 8 # not the 10 s sleep
      quick = handler.initialize_task(context: {}) # the one processor is free again
      expect(wait_until { TaskerCore::Engine.task_status(quick.task_id).finished? }).to be(true)
      expect(worker.processor_threads.map(&:name)).to eq(["tasker_core.worker.0"]) # never abandoned nor replaced
    ensure
      expect(worker.stop(deadline: 5)).to be(true)
    end
    interrupted = events.pop
    expect(interrupted.first(3)).to eq(["long", 1, :interrupted])
    expect(interrupted.last).to be_between(1.0, 4.0) # timeout + grace, well before the sleep's end
    expect(events.pop).to eq(["long", 2, :finished])
    step = TaskerCore::Engine.task_status(slow.task_id).step("long")
    expect([step.status, step.attempts]).to eq(["complete", 2]) # complete only through the retry
    expect(step.results).to eq("attempt" => 2, "thread" => "tasker_core.worker.0")
    failure = SpecDatabase.query(<<~SQL).strip
      SELECT metadata->>'error_class' FROM tasker_workflow_step_transitions
      WHERE workflow_step_id = #{step.workflow_step_id} AND to_state = 'waiting_for_retry'
    SQL
    expect(failure).to eq("TaskerCore::StepTimeoutError")
  end

  it "replaces a processor that dies outside its handler, failing the step it held with the error" do
    handler = Workflows.handler("die", { "only" => [] }, handler: "SpecHandlers::Shape", namespace: "spec_die")
    init = handler.initialize_task(context: {})
    deaths = 0
    allow_any_instance_of(TaskerCore::StepRunner).to receive(:run).and_wrap_original do |original, *args, &block|
      raise ThreadError, "processor broken" if (deaths += 1) == 1

      original.call(*args, &block)
    end
    worker = start_worker("spec_die", threads: 2)
    begin
      expect(wait_until { TaskerCore::Engine.task_status(init.task_id).finished? }).to be(true)
      expect(wait_until { WorkerSpecs.processor_threads.size == 2 }).to be(true)
      expect(worker.processor_threads.map(&:name)).to include("tasker_core.worker.2") # the replacement
      expect(worker.fatal_error).to be_nil
    ensure
      expect(worker.stop(deadline: 5)).to be(true)
    end
    step = TaskerCore::Engine.task_status(init.task_id).step("only")
    expect([step.status, step.attempts]).to eq(["complete", 2])
    error_class = SpecDatabase.query(<<~SQL).strip
      SELECT metadata->>'error_class' FROM tasker_workflow_step_transitions
      WHERE workflow_step_id = #{step.workflow_step_id} AND to_state = 'waiting_for_retry'
    SQL
    expect(error_class).to eq("ThreadError")
  end

  it "stops the worker as fatal when processors die as fast as they are replaced" do
    Workflows.handler(:linear, namespace: "spec_fatal_deaths", suffix: "fatal_deaths")
    allow_any_instance_of(TaskerCore::Dispatcher).to receive(:next_step).and_raise(RuntimeError, "broken fetch")
    worker = start_worker("spec_fatal_deaths", threads: 2)
    expect(wait_until { worker.fatal_error }).to be_truthy
    expect(worker.fatal_error.message).to match(/processors died within 60s \(the last: RuntimeError: broken fetch\)/)
    expect(wait_until { !worker.running? }).to be(true)
    expect(worker.stop(deadline: 1)).to be(true) # already stopped by the fatal condition
  end
end
