# frozen_string_literal: true

RSpec.describe TaskerCore::Worker do
  def wait_until(timeout: 20)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    sleep 0.05 until yield || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
    yield
  end

  it "validates its arguments" do
    expect { described_class.new(threads: 0) }.to raise_error(ArgumentError, "threads must be an Integer within 1..256, got 0")
    expect { described_class.new(batch_size: "x") }.to raise_error(ArgumentError, /batch_size/)
    expect { described_class.new(poll_interval: -1) }.to raise_error(ArgumentError, /poll_interval/)
  end

  it "runs many tasks to completion on named threads, retrying failures" do
    handler = Workflows.handler(:diamond, namespace: "spec_worker")
    ids = Array.new(8) do |i|
      failures = i.even? ? { "merge_branches" => "retry_once" } : {}
      handler.initialize_task(context: { "failures" => failures }).task_id
    end
    worker = described_class.new(namespaces: ["spec_worker"], threads: 3, batch_size: 4, poll_interval: 0.05).start
    begin
      threads = Thread.list.map(&:name).compact
      expect(threads).to include("tasker_core.worker.0", "tasker_core.worker.2", "tasker_core.worker.heartbeat")
      expect(wait_until { ids.all? { |id| TaskerCore::Engine.task_status(id).finished? } }).to be(true)
    ensure
      expect(worker.stop(deadline: 10)).to be(true)
    end
    statuses = ids.map { |id| TaskerCore::Engine.task_status(id) }
    expect(statuses.map(&:status)).to all(eq("complete"))
    expect(statuses.select.with_index { |_, i| i.even? }.map { |s| s.step("merge_branches").attempts }).to all(eq(2))
    expect(worker.running?).to be(false)
  end

  it "finishes in-flight steps on stop, and heartbeats leases shorter than the handler" do
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

  it "returns false when the deadline passes with a step still running" do
    handler = Workflows.handler("slow", { "slow_step" => [] }, handler: "SpecHandlers::Slow", namespace: "spec_slow")
    handler.initialize_task(context: { "sleep" => 1.5 })
    worker = described_class.new(namespaces: ["spec_slow"], threads: 1, poll_interval: 0.05).start
    wait_until { worker.in_flight.any? }
    expect(worker.stop(deadline: 0.2)).to be(false)
    wait_until { !worker.running? }
  end

  it "gives back the claimed steps it has not started at once on stop, and lets the running one finish" do
    handler = Workflows.handler("release", ("a".."e").to_h { |n| [n, []] }, handler: "SpecHandlers::Gate",
                                                                         namespace: "spec_release")
    init = handler.initialize_task(context: {})
    steps = -> { TaskerCore::Engine.task_status(init.task_id).steps.to_h { |s| [s.name, [s.status, s.attempts]] } }
    worker = described_class.new(namespaces: ["spec_release"], threads: 1, batch_size: 5, poll_interval: 0.05).start
    begin
      running = Timeout.timeout(10) { SpecHandlers::Gate::STARTED.pop }
      others = steps.call.keys - [running]
      expect(steps.call.values).to all(eq(["in_progress", 1])) # one claim took all five
      expect(worker.backlog.size).to eq(4)

      stopper = Thread.new { worker.stop(deadline: 10) }
      released = wait_until(timeout: 5) { steps.call.values_at(*others).all?(["pending", 0]) }
      expect(released).to be(true), -> { steps.call.inspect }
      expect(steps.call[running]).to eq(["in_progress", 1]) # its handler is still blocked: nothing waited for it
      SpecHandlers::Gate::GATE << :go
      expect(stopper.value).to be(true)
    ensure
      5.times { SpecHandlers::Gate::GATE << :go } if worker.running?
    end

    after = steps.call
    expect(after[running]).to eq(["complete", 1])
    expect(after.values_at(*others)).to all(eq(["pending", 0]))
    expect(SpecHandlers::Gate::STARTED).to be_empty # no other step was started
    expect(worker.backlog).to be_empty
    # Ready for the next worker at once, and the released attempt does not count.
    again = TaskerCore::Engine.claim(namespaces: ["spec_release"], limit: 10, worker_id: "spec_next")
    expect(again.map { |c| [c.step_name, c.attempts] }.sort).to eq(others.sort.map { |n| [n, 1] })
    again.each { |c| TaskerCore::Engine.release_step(step_id: c.workflow_step_id, claim_token: c.claim_token) }
    expect { TaskerCore::Engine.release_step(step_id: again[0].workflow_step_id, claim_token: again[0].claim_token) }
      .to raise_error(TaskerCore::StaleClaimError)
  end

  it "stops on TERM within the deadline when run via #run (as the CLI does), giving back unstarted steps" do
    out, status = Subprocess.ruby(<<~RUBY, timeout: 30)
      require "tasker_core"
      require "#{File.expand_path('../support/workflows', __dir__)}"
      TaskerCore.configure { |c| c.database_url = ENV["TASKER_SPEC_DATABASE_URL"]; c.logger = Logger.new($stdout) }
      h = Workflows.handler("slow2", { "slow_a" => [], "slow_b" => [] }, handler: "SpecHandlers::Slow", namespace: "spec_term")
      id = h.initialize_task(context: { "sleep" => 0.5 }).task_id
      Thread.new { sleep 0.05 until TaskerCore::Engine.task_status(id).steps.all? { |s| s.status == "in_progress" }; Process.kill("TERM", Process.pid) }
      clean = TaskerCore::Worker.new(namespaces: ["spec_term"], threads: 1, batch_size: 2, poll_interval: 0.05).run(deadline: 5)
      states = TaskerCore::Engine.task_status(id).steps.map { |s| [s.status, s.attempts] }.sort
      puts "clean=\#{clean} steps=\#{states.inspect}"
    RUBY
    expect(status).to be_success, out
    expect(out).to include('clean=true steps=[["complete", 1], ["pending", 0]]')
  end

  it "never runs a batched step whose lease lapsed while it waited and another worker took it" do
    handler = Workflows.handler("lapse", ("a".."c").to_h { |n| [n, []] }, handler: "SpecHandlers::Gate",
                                                                       namespace: "spec_lapse")
    init = handler.initialize_task(context: {})
    worker = described_class.new(namespaces: ["spec_lapse"], threads: 1, batch_size: 3, lease_ms: 300,
                                 poll_interval: 0.05).start
    begin
      running = Timeout.timeout(10) { SpecHandlers::Gate::STARTED.pop }
      sleep 0.7 # the waiting steps' 300 ms leases lapse; the heartbeat keeps only the running one
      taken = TaskerCore::Engine.claim(namespaces: ["spec_lapse"], limit: 10, worker_id: "spec_thief", lease_ms: 60_000)
      expect(taken.map(&:step_name).sort).to eq((("a".."c").to_a - [running]).sort)
      taken.each do |c|
        TaskerCore::Engine.complete(step_id: c.workflow_step_id, claim_token: c.claim_token, results: { "by" => "thief" })
      end
      SpecHandlers::Gate::GATE << :go
      expect(wait_until { TaskerCore::Engine.task_status(init.task_id).finished? }).to be(true)
    ensure
      expect(worker.stop(deadline: 5)).to be(true)
      3.times { SpecHandlers::Gate::GATE << :go } if worker.running?
    end
    expect(SpecHandlers::Gate::STARTED).to be_empty # the worker ran none of the steps the thief took
    status = TaskerCore::Engine.task_status(init.task_id)
    expect(status.status).to eq("complete")
    expect(status.step(running).results).to eq("ran" => running)
    (("a".."c").to_a - [running]).each { |n| expect(status.step(n).results).to eq("by" => "thief") }
  end

end
