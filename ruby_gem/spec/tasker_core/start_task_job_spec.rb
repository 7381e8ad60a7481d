# frozen_string_literal: true

RSpec.describe "TaskerCore::StartTaskJob" do
  before(:all) do
    require_relative "../support/active_jobs"
    @handlers = %w[strict always_unique caller_provided].to_h do |strategy|
      doc = YAML.safe_load(Workflows.yaml("start_#{strategy}", { "a" => [], "b" => ["a"] }, namespace: "start_job"))
      doc["identity_strategy"] = strategy
      [strategy, TaskerCore::TaskHandler::Base.new(yaml: doc.to_yaml).register!]
    end
  end

  before { SpecJobs.reset! }

  let(:job_class) { TaskerCore::StartTaskJob }
  let(:run) { SecureRandom.hex(6) }

  def request(strategy = "strict", **overrides)
    { namespace: "start_job", name: "start_#{strategy}", version: "1.0.0", context: { "run" => run } }.merge(overrides)
  end

  def tasks_of_run
    SpecDatabase.query("SELECT count(*) FROM tasker_tasks WHERE context->>'run' = '#{run}'").to_i
  end

  # What a queue does with a delivery: deserialize the payload and perform.
  def deliver(payload)
    ActiveJob::Base.execute(payload)
  end

  it "refuses a bad request when perform_later is called, naming the field, and enqueues nothing" do
    cases = {
      request.except(:name) => [/:name is missing/, nil],
      request(contxt: {}) => [/unexpected keys \[:contxt\]/, nil],
      request(context: { "at" => Time.now }) => [/context\["at"\]: .*Time.* cannot be encoded as JSON/, nil],
      request(context: { "a" => 1, a: 2 }) => [/context names the key "a" twice/, "context"],
      request(context: { "_aj_globalid" => "x" }) => [/cannot be serialized by ActiveJob: .*_aj_globalid/, "context"],
      request(tags: "urgent") => [/"urgent" \(String\) has invalid type for :tags/, nil],
      request(name: "no_such_template") => [%r{no task template start_job/no_such_template@1.0.0 is registered.*start_job/start_strict@1.0.0}, "name"],
      request(version: "9.9.9") => [%r{no task template start_job/start_strict@9.9.9 is registered}, "version"],
      request("caller_provided") => [/idempotency_key is required: .*caller_provided/, "idempotency_key"]
    }
    cases.each do |args, (message, field)|
      expect { job_class.perform_later(**args) }.to raise_error(TaskerCore::ValidationError) { |e|
        expect(e.message).to start_with("TaskerCore::StartTaskJob: ").and match(message)
        expect(e.details["field"]).to eq(field) if field
      }
    end
    expect { job_class.perform_later("start_job", "start_strict") }
      .to raise_error(TaskerCore::ValidationError, /pass the task request as keywords .* got 2 argument/)
    expect(ActiveJob::Base.queue_adapter.enqueued_jobs).to be_empty
  end

  it "starts the task when the queue delivers the job (ActiveJob's JSON payload); the task runs to completion" do
    job = job_class.perform_later(**request(context: { "run" => run, :symbol_key => [1, 2.5] }, tags: ["web"]))
    payloads = SpecJobs.enqueued_payloads
    expect(payloads.map { |p| p["job_class"] }).to eq(["TaskerCore::StartTaskJob"])
    expect(tasks_of_run).to eq(0) # enqueued, not started

    task_id = deliver(payloads.first)
    status = run_task_to_completion(task_id)
    expect(status.status).to eq("complete")
    expect([status.namespace, status.name, status.version]).to eq(%w[start_job start_strict 1.0.0])
    expect(status.context).to eq("run" => run, "symbol_key" => [1, 2.5])
    expect(status.tags).to eq(["web", "active_job:#{job.job_id}"])
    expect(status.step("b").results["parents"]).to eq(["a"])
  end

  it "returns the task id from perform_now, keeps it as #task_id and logs it" do
    log = StringIO.new
    job = job_class.new(**request)
    job.logger = Logger.new(log)
    task_id = job.perform_now
    expect(task_id).to be_a(Integer).and eq(job.task_id)
    expect(log.string).to include("TaskerCore::StartTaskJob: started task #{task_id} (start_job/start_strict@1.0.0)")

    expect(job.perform_now).to eq(task_id)
    expect(log.string).to include("task #{task_id} (start_job/start_strict@1.0.0) was started by an earlier run of this job")
    expect(tasks_of_run).to eq(1)
  end

  %w[strict always_unique].each do |strategy|
    it "starts one task when the queue delivers the same job twice, or four times at once (#{strategy})" do
      job_class.perform_later(**request(strategy))
      payload = SpecJobs.enqueued_payloads.first

      first = deliver(payload)
      expect(deliver(payload)).to eq(first)
      expect(tasks_of_run).to eq(1)

      SpecJobs.reset!
      job_class.perform_later(**request(strategy, context: { "run" => run, "second" => true }))
      payload = SpecJobs.enqueued_payloads.first
      ids = Array.new(4) { Thread.new { deliver(payload) } }.map(&:value)
      expect(ids.uniq.size).to eq(1)
      expect(ids.first).not_to eq(first)
      expect(tasks_of_run).to eq(2)
    end
  end

  it "gives always_unique tasks the job id as idempotency key, so two jobs still make two tasks" do
    2.times { job_class.perform_later(**request("always_unique")) }
    ids = SpecJobs.enqueued_payloads.map { |payload| deliver(payload) }
    expect(ids.uniq.size).to eq(2)
    expect(tasks_of_run).to eq(2)
  end

  it "still refuses another request with the same identity: DuplicateTaskError with the existing task" do
    2.times { job_class.perform_later(**request) } # strict: same context, two separate requests
    first, second = SpecJobs.enqueued_payloads
    task_id = deliver(first)
    expect { deliver(second) }.to raise_error(TaskerCore::DuplicateTaskError) { |e| expect(e.existing_task_id).to eq(task_id) }

    key = "order-#{run}"
    2.times { |i| job_class.perform_later(**request("caller_provided", idempotency_key: key, context: { "run" => run, "i" => i })) }
    first, second = SpecJobs.enqueued_payloads.last(2)
    task_id = deliver(first)
    expect { deliver(second) }.to raise_error(TaskerCore::DuplicateTaskError) { |e| expect(e.existing_task_id).to eq(task_id) }
    expect(tasks_of_run).to eq(2)
  end
end
