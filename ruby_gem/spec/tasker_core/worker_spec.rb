# frozen_string_literal: true

require_relative "../support/worker_handlers"

RSpec.describe TaskerCore::Worker do
  def wait_until(timeout: 20, &block)
    WorkerSpecs.wait_until(timeout: timeout, &block)
  end

  def steps_of(task_id)
    TaskerCore::Engine.task_status(task_id).steps.to_h { |s| [s.name, [s.status, s.attempts]] }
  end

  it "validates its arguments" do
    expect { described_class.new(threads: 0) }.to raise_error(ArgumentError, "threads must be an Integer within 1..256, got 0")
    expect { described_class.new(batch_size: "x") }.to raise_error(ArgumentError, /batch_size/)
    expect { described_class.new(poll_interval: -1) }.to raise_error(ArgumentError, /poll_interval/)
    expect { described_class.new(step_timeout: 0.5) }.to raise_error(ArgumentError, /step_timeout must be a positive number of seconds \(at least 1\)/)
    expect { described_class.new(timeout_grace: "5") }.to raise_error(ArgumentError, /timeout_grace/)
  end

  it "claims only the namespaces and template versions of its registered handlers unless told :all" do
    foreign = TaskerCore::TaskHandler::Base.new(yaml: Workflows.yaml("foreign_wf", { "only" => [] }, namespace: "foreign_ns"),
                                                 register: false)
    TaskerCore::Engine.register_template(foreign.spec)
    foreign_id = TaskerCore::Engine.initialize_task(namespace: "foreign_ns", name: "foreign_wf", context: {}).task_id
    # A rolling deploy: the new release registered 2.0.0 and started a task
    # of it; this worker only has 1.0.0's handlers.
    newer = TaskerCore::TaskHandler::Base.new(yaml: Workflows.yaml("linear_default_ns", { "only" => [] }, namespace: "spec_default_ns",
                                                                                                       version: "2.0.0"),
                                              register: false)
    TaskerCore::Engine.register_template(newer.spec)
    newer_id = TaskerCore::Engine.initialize_task(namespace: "spec_default_ns", name: "linear_default_ns", version: "2.0.0",
                                                  context: {}).task_id
    ours = Workflows.handler(:linear, namespace: "spec_default_ns", suffix: "default_ns").initialize_task(context: {}).task_id
    worker = described_class.new(threads: 2, poll_interval: 0.05).start
    begin
      expect(wait_until { TaskerCore::Engine.task_status(ours).finished? }).to be(true)
    ensure
      worker.stop(deadline: 10)
    end
    expect(TaskerCore::Engine.task_status(ours).status).to eq("complete")
    expect(steps_of(foreign_id)).to eq("only" => ["pending", 0]) # never claimed: no attempt spent
    expect(steps_of(newer_id)).to eq("only" => ["pending", 0])

    out, status = Subprocess.ruby(<<~RUBY)
      require "tasker_core"
      TaskerCore.configure { |c| c.database_url = ENV.fetch("TASKER_SPEC_DATABASE_URL"); c.logger = Logger.new(nil) }
      begin
        TaskerCore::Worker.new(threads: 1).start
      rescue TaskerCore::ValidationError => e
        puts e.message
      end
      puts "all=\#{TaskerCore::Worker.new(namespaces: :all).namespaces.inspect}"
      class KnownStep < TaskerCore::StepHandler::Base
        def process(*) = {}
      end
      TaskerCore::TaskHandler::Base.new(yaml: { "name" => "one", "namespace_name" => "spec_known", "version" => "1.0.0",
                                                "step_templates" => [{ "name" => "a", "handler_class" => "KnownStep" }] }.to_yaml)
      begin
        TaskerCore::Worker.new(namespaces: %w[spec_known spec_unknown], threads: 1).start
      rescue TaskerCore::ValidationError => e
        puts e.message
      end
    RUBY
    expect(status).to be_success, out
    expect(out).to include("no task handlers are registered", "pass namespaces: :all", "all=:all",
                           "no task handler is registered in namespace(s) spec_unknown (registered: spec_known)")
  end

  it "runs many tasks to completion on named threads, retrying failures" do
    handler = Workflows.handler(:diamond, namespace: "spec_worker")
    ids = Array.new(8) do |i|
      failures = i.even? ? { "merge_branches" => "retry_once" } : {}
      handler.initialize_task(context: { "failures" => failures }).task_id
    end
    worker = described_class.new(namespaces: ["spec_worker"], threads: 3, poll_interval: 0.05).start
    begin
      threads = Thread.list.map(&:name).compact
      expect(threads).to include("tasker_core.worker.0", "tasker_core.worker.2", "tasker_core.watchdog")
      expect(threads).not_to include("tasker_core.worker.heartbeat") # the library keeps the leases now
      expect(wait_until { ids.all? { |id| TaskerCore::Engine.task_status(id).finished? } }).to be(true)
    ensure
      expect(worker.stop(deadline: 10)).to be(true)
    end
    statuses = ids.map { |id| TaskerCore::Engine.task_status(id) }
    expect(statuses.map(&:status)).to all(eq("complete"))
    expect(statuses.select.with_index { |_, i| i.even? }.map { |s| s.step("merge_branches").attempts }).to all(eq(2))
    expect(worker.running?).to be(false)
    expect(WorkerSpecs.processor_threads).to be_empty
  end

  it "finishes in-flight steps on stop, and the library keeps leases shorter than the handler" do
    handler = Workflows.handler("slow", { "slow_step" => [] }, handler: "SpecHandlers::Slow", namespace: "spec_slow")
    init = handler.initialize_task(context: { "sleep" => 1.0 })
    worker = described_class.new(namespaces: ["spec_slow"], threads: 1, lease_ms: 300, poll_interval: 0.05).start
    expect(wait_until { worker.in_flight.any? }).to be(true)
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    expect(worker.stop(deadline: 5)).to be(true)
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 2
    step = TaskerCore::Engine.task_status(init.task_id).step("slow_step")
    expect([step.status, step.attempts]).to eq(["complete", 1]) # the 300 ms lease never expired
    expect(step.results).to eq("thread" => "tasker_core.worker.0")
  end

  it "interrupts a handler still running at the deadline and gives its step back, attempt not counted" do
    handler = Workflows.handler("slow", { "slow_step" => [] }, handler: "SpecHandlers::Slow", namespace: "spec_slow")
    init = handler.initialize_task(context: { "sleep" => 30 })
    worker = described_class.new(namespaces: ["spec_slow"], threads: 1, poll_interval: 0.05).start
    wait_until { worker.in_flight.any? }
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    expect(worker.stop(deadline: 0.2)).to be(false)
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 5 # the 30 s sleep was interrupted
    expect(wait_until { !worker.running? }).to be(true)
    expect(steps_of(init.task_id)).to eq("slow_step" => ["pending", 0])
  end

  it "claims only for waiting processors, so unstarted steps stay free for others, and lets the running one finish" do
    handler = Workflows.handler("release", ("a".."e").to_h { |n| [n, []] }, handler: "SpecHandlers::Gate",
                                                                         namespace: "spec_release")
    init = handler.initialize_task(context: {})
    worker = described_class.new(namespaces: ["spec_release"], threads: 1, poll_interval: 0.05).start
    begin
      running = Timeout.timeout(10) { SpecHandlers::Gate::STARTED.pop }
      others = steps_of(init.task_id).keys - [running]
      sleep 0.3 # the lone processor is busy: nothing more is claimed for it
      expect(steps_of(init.task_id).values_at(*others)).to all(eq(["pending", 0]))
      expect(steps_of(init.task_id)[running]).to eq(["in_progress", 1])

      stopper = Thread.new { worker.stop(deadline: 10) }
      sleep 0.2
      expect(steps_of(init.task_id)[running]).to eq(["in_progress", 1]) # its handler is still blocked
      SpecHandlers::Gate::GATE << :go
      expect(stopper.value).to be(true)
    ensure
      5.times { SpecHandlers::Gate::GATE << :go } if worker.running?
    end
    after = steps_of(init.task_id)
    expect(after[running]).to eq(["complete", 1])
    expect(after.values_at(*others)).to all(eq(["pending", 0]))
    expect(SpecHandlers::Gate::STARTED).to be_empty # no other step was started
    again = TaskerCore::Engine.claim(namespaces: ["spec_release"], limit: 10, worker_id: "spec_next")
    expect(again.map { |c| [c.step_name, c.attempts] }.sort).to eq(others.sort.map { |n| [n, 1] })
    again.each { |c| TaskerCore::Engine.release_step(step_id: c.workflow_step_id, claim_token: c.claim_token) }
  end

  it "stops on TERM within the deadline when run via #run, finishing the running step" do
    out, status = Subprocess.ruby(<<~RUBY, timeout: 30)
      require "tasker_core"
      require "#{File.expand_path('../support/workflows', __dir__)}"
      TaskerCore.configure { |c| c.database_url = ENV["TASKER_SPEC_DATABASE_URL"]; c.logger = Logger.new($stdout) }
      h = Workflows.handler("slow2", { "slow_a" => [], "slow_b" => [] }, handler: "SpecHandlers::Slow", namespace: "spec_term")
      id = h.initialize_task(context: { "sleep" => 0.5 }).task_id
      Thread.new { sleep 0.05 until TaskerCore::Engine.task_status(id).steps.any? { |s| s.status == "in_progress" }; Process.kill("TERM", Process.pid) }
      clean = TaskerCore::Worker.new(namespaces: ["spec_term"], threads: 1, poll_interval: 0.05).run(deadline: 5)
      states = TaskerCore::Engine.task_status(id).steps.map { |s| [s.status, s.attempts] }.sort
      puts "clean=\#{clean} steps=\#{states.inspect}"
    RUBY
    expect(status).to be_success, out
    expect(out).to include('clean=true steps=[["complete", 1], ["pending", 0]]')
  end

  it "never runs a step twice: two workers on one namespace take different steps" do
    handler = Workflows.handler("pair", ("a".."c").to_h { |n| [n, []] }, handler: "SpecHandlers::Gate", namespace: "spec_pair")
    init = handler.initialize_task(context: {})
    workers = Array.new(2) { |i| described_class.new(namespaces: ["spec_pair"], threads: 1, poll_interval: 0.05, worker_id: "pair#{i}").start }
    begin
      first = Timeout.timeout(10) { [SpecHandlers::Gate::STARTED.pop, SpecHandlers::Gate::STARTED.pop] }
      expect(first.uniq.size).to eq(2)
      3.times { SpecHandlers::Gate::GATE << :go }
      expect(wait_until { TaskerCore::Engine.task_status(init.task_id).finished? }).to be(true)
    ensure
      workers.each { |w| expect(w.stop(deadline: 5)).to be(true) }
    end
    SpecHandlers::Gate::STARTED.pop until SpecHandlers::Gate::STARTED.empty?
    SpecHandlers::Gate::GATE.pop until SpecHandlers::Gate::GATE.empty?
    expect(steps_of(init.task_id).values).to all(eq(["complete", 1]))
  end
end
