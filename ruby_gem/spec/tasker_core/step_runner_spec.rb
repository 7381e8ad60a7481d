# frozen_string_literal: true

RSpec.describe TaskerCore::StepRunner do
  let(:handler) { Workflows.handler("echo", { "echo" => [] }, handler: "SpecHandlers::Echo") }

  def round_trip(value)
    init = handler.initialize_task(context: { "result" => value })
    result = handle_one_step(init.step_id("echo"))
    expect(result.status).to eq("complete")
    [result.results, TaskerCore::Engine.task_status(init.task_id).step("echo").results]
  end

  {
    "nested" => { "a" => [1, { "b" => [nil, true, false, { "c" => -1.5e-7 }] }], "empty" => {}, "list" => [] },
    "unicode" => { "text" => "naïve café – 日本語 – 🚀 – \u2028 – \t\n\"quoted\" \\ backslash", "ключ" => "значение" },
    "numbers" => [0, -1, 2**53, -(2**62), 3.14159, 0.1, -2.5e-8, 12_345.678],
    "scalar" => "just a string",
    "null" => nil,
    "deep" => (1..200).reduce("leaf") { |acc, _| { "d" => acc } }
  }.each do |label, value|
    it "stores #{label} results exactly" do
      returned, stored = round_trip(value)
      expect(returned).to eq(value)
      expect(stored).to eq(value)
    end
  end

  # Task contexts are jsonb (1.0e300 comes back as a 301-digit Integer, a
  # NUL cannot be stored), so these results come from the handler itself.
  def round_trip_returned(value)
    h = Workflows.handler("echo_child", { "echo" => [], "child" => ["echo"] }, handler: "SpecHandlers::Echo")
    init = h.initialize_task(context: {})
    allow_any_instance_of(SpecHandlers::Echo).to receive(:process).and_return(value)
    result = handle_one_step(init.step_id("echo"))
    expect(result.status).to eq("complete"), -> { result.error.inspect }
    child = TaskerCore::Engine.claim_one(step_id: init.step_id("child"), worker_id: "spec")
    TaskerCore::Engine.release_step(step_id: child.workflow_step_id, claim_token: child.claim_token)
    [result.results, TaskerCore::Engine.task_status(init.task_id).step("echo").results, child.dependency_results["echo"]]
  end

  it "keeps a Float with a large exponent a Float (results are stored as json, byte for byte)" do
    returned, stored, seen_by_child = round_trip_returned([1.0e300, -2.5e-300, 1.0e15])
    expect([returned, stored, seen_by_child]).to all(eq([1.0e300, -2.5e-300, 1.0e15]))
    expect(stored.first).to be_a(Float)
  end

  it "stores a NUL character in result strings and keys exactly" do
    value = { "text" => "a\u0000b", "k\u0000ey" => ["\u0000", "end\u0000"] }
    returned, stored, seen_by_child = round_trip_returned(value)
    expect([returned, stored, seen_by_child]).to all(eq(value))
    expect(stored["text"].bytes).to eq([97, 0, 98])
  end

  it "records a failure whose message holds a NUL (last_error is jsonb) with the NUL written out as \\u0000" do
    h = Workflows.handler("nul_error", { "only" => [] }, handler: "SpecHandlers::Echo", retry_limit: 1)
    init = h.initialize_task(context: {})
    allow_any_instance_of(SpecHandlers::Echo).to receive(:process).and_raise(ArgumentError, "bad byte \u0000 here")
    result = handle_one_step(init.step_id("only"))
    expect(result.status).to eq("error")
    expect(result.error["message"]).to eq("bad byte \\u0000 here")
    expect(TaskerCore::Engine.task_status(init.task_id).step("only").last_error["message"]).to eq("bad byte \\u0000 here")
  end

  it "stores large results exactly" do
    value = { "blob" => "x" * 2_000_000, "rows" => Array.new(20_000) { |i| { "id" => i, "name" => "row #{i}" } } }
    _, stored = round_trip(value)
    expect(stored).to eq(value)
  end

  it "records a handler's class, message and backtrace on failure" do
    h = Workflows.handler("raises", { "only" => [] })
    init = h.initialize_task(context: { "failures" => { "only" => "raise_once" } })
    result = handle_one_step(init.step_id("only"))
    expect(result.status).to eq("waiting_for_retry")
    expect(result.error).to include("class" => "ArgumentError", "message" => "plain error in only")
    expect(result.error["backtrace"].first).to include("spec/support/workflows.rb")
  end

  it "logs one key=value line per step at info, a failure at warn with its error" do
    io = StringIO.new
    previous = TaskerCore.config.logger
    TaskerCore.config.logger = Logger.new(io, level: Logger::INFO)
    h = Workflows.handler("logged", { "only" => [] })
    init = h.initialize_task(context: { "failures" => { "only" => "raise_once" } })
    TaskerCore::Testing.run_task_to_completion(init.task_id)
    lines = io.string.lines.grep(/tasker_core: step=only /)
    expect(lines.size).to eq(2)
    template = "template=spec/logged_wf@1.0.0"
    expect(lines[0]).to match(/WARN .*step=only task_id=#{init.task_id} step_id=\d+ #{template} attempt=1 duration_ms=[\d.]+ outcome=waiting_for_retry error=ArgumentError: plain error in only/)
    expect(lines[1]).to match(/INFO .*step=only task_id=#{init.task_id} step_id=\d+ #{template} attempt=2 duration_ms=[\d.]+ outcome=complete$/)
  ensure
    TaskerCore.config.logger = previous
  end
end
