# frozen_string_literal: true

require "tmpdir"

RSpec.describe "TaskerCore::StepHandler::ActiveJobStep" do
  before(:all) { require_relative "../../support/active_jobs" }
  before { SpecJobs.reset! }

  def job_step(name, job_class, depends_on: [], retry_limit: 3, **config)
    { "name" => name, "handler_class" => "TaskerCore::StepHandler::ActiveJobStep", "depends_on_steps" => depends_on, "default_retry_limit" => retry_limit,
      "handler_config" => { "job_class" => job_class }.merge(config.transform_keys(&:to_s)) }
  end

  def template(name, *steps, register: true)
    TaskerCore::TaskHandler::Base.new(register: register, yaml: {
      "name" => name, "namespace_name" => "active_job_step", "version" => "1.0.0",
      "identity_strategy" => "always_unique", "step_templates" => steps
    }.to_yaml)
  end

  def start(handler, context)
    handler.register!.initialize_task(context: context)
  end

  it "runs the job with arguments from the context and a parent's results, callbacks included; its return value is the step's result" do
    performed = []
    sub = ActiveSupport::Notifications.subscribe("perform.active_job") { |*, payload| performed << payload[:job].class.name }
    handler = template("welcome",
                       { "name" => "create_account", "handler_class" => "SpecJobs::CreateAccount" },
                       job_step("send_welcome", "SpecJobs::WelcomeEmailJob", depends_on: ["create_account"],
                                arguments: ["results.create_account.user_id", "context.plan"],
                                keyword_arguments: { "locale" => "context.prefs.locale" }))
    init = start(handler, { "user_id" => 42, "plan" => "pro", "prefs" => { "locale" => "fr" } })
    status = run_task_to_completion(init.task_id)
    ActiveSupport::Notifications.unsubscribe(sub)

    expect(status.status).to eq("complete")
    step_id = init.step_id("send_welcome")
    expect(status.step("send_welcome").results).to eq(
      "sent_to" => 42, "plan" => "pro", "locale" => "fr", "at" => "2024-01-02T03:04:05.000Z", "attempt" => 1,
      "job_id" => TaskerCore::StepHandler::ActiveJobStep.job_id_for(TaskerCore::Execution::Step.new(
        id: step_id, name: "send_welcome", attempts: 1, retry_limit: 3, retryable: true, config: {}, inputs: nil
      ))
    )
    expect(SpecJobs.log).to eq([[:before, [42, "pro", { locale: "fr" }]], [:around, 1], :after, :around_done])
    expect(performed).to eq(["SpecJobs::WelcomeEmailJob"])
    expect(ActiveJob::Base.queue_adapter.enqueued_jobs).to be_empty
  end

  it "lets the engine retry a job that raises (retry_on enqueues nothing; its wait and attempts do not apply), with one job id" do
    handler = template("flaky", job_step("flaky", "SpecJobs::FlakyJob", arguments: [{ "value" => 3 }]))
    init = start(handler, {})
    first = handle_one_step(init.step_id("flaky"))
    expect(first.status).to eq("waiting_for_retry")
    expect(TaskerCore::Engine.task_status(init.task_id).step("flaky").last_error)
      .to include("class" => "SpecJobs::FlakyJob::Flake", "message" => "flaky on execution 1")

    status = run_task_to_completion(init.task_id, timeout: 20) # the job's own wait would be 30 s
    expect(status.status).to eq("complete")
    expect(status.step("flaky").attempts).to eq(3) # the job's retry_on would have given up after 2
    expect(status.step("flaky").results).to eq("ran_on" => 3)
    runs = SpecJobs.log.select { |entry| entry.first == :flaky }
    expect(runs.map { |entry| entry[1] }).to eq([1, 2, 3])
    expect(runs.map(&:last).uniq.size).to eq(1)
    expect(ActiveJob::Base.queue_adapter.enqueued_jobs).to be_empty
  end

  it "fails the step for good at the step's retry_limit" do
    handler = template("flaky_limit", job_step("flaky", "SpecJobs::FlakyJob", arguments: [{ "value" => 5 }], retry_limit: 2))
    status = run_task_to_completion(start(handler, {}).task_id)
    expect([status.status, status.step("flaky").status, status.step("flaky").attempts]).to eq(["error", "error", 2])
    expect(ActiveJob::Base.queue_adapter.enqueued_jobs).to be_empty
  end

  it "fails the step permanently when the job discards itself (discard_on), whatever attempts are left" do
    handler = template("discard", job_step("discard", "SpecJobs::DiscardingJob", arguments: ["context.user_id"]))
    status = run_task_to_completion(start(handler, { "user_id" => 7 }).task_id)
    step = status.step("discard")
    expect([status.status, step.status, step.attempts, step.retry_limit]).to eq(["error", "error", 1, 3])
    expect(step.last_error).to include(
      "class" => "TaskerCore::PermanentError", "permanent" => true,
      "message" => "SpecJobs::DiscardingJob discarded the job on SpecJobs::DiscardingJob::Gone: user 7 was deleted"
    )
    expect(step.last_error["backtrace"].first).to include("active_jobs.rb")
    expect(SpecJobs.log).to eq([[:discarding, 1]])
  end

  it "fails the step permanently, naming the source, when an argument is missing from the context" do
    handler = template("missing_arg", job_step("discard", "SpecJobs::DiscardingJob", arguments: ["context.user.id"]))
    status = run_task_to_completion(start(handler, { "user" => { "name" => "x" } }).task_id)
    step = status.step("discard")
    expect([step.status, step.attempts]).to eq(["error", 1])
    expect(step.last_error["message"])
      .to eq('handler_config.arguments[0]: context.user.id not found: context.user has no key "id"')
    expect(SpecJobs.log).to be_empty
  end

  it "stores a return value without an exact JSON form as its JSON-safe counterpart, never failing the step" do
    safe = TaskerCore::StepHandler::ActiveJobStep::Result.json_safe(
      [:sent, { at: Date.new(2024, 5, 6), 1 => BigDecimal("1.50"), "nan" => Float::NAN, "mail" => Object.new },
       "caf\xC3\xA9 \xFF".b]
    )
    expect(safe).to eq(["sent", { "at" => "2024-05-06", "1" => "1.5", "nan" => nil, "mail" => nil }, "café \uFFFD"])
    expect(TaskerCore::JSONEncoder.valid?(safe)).to be(true)
  end

  it "takes an array element by its index" do
    handler = template("indexed", job_step("discard", "SpecJobs::DiscardingJob", arguments: ["context.users.1.id"]))
    status = run_task_to_completion(start(handler, { "users" => [{ "id" => 1 }, { "id" => 2 }] }).task_id)
    expect(status.step("discard").last_error["message"]).to end_with("user 2 was deleted")
  end

  it "names the template, the step and the class when the job class is missing or is not a job" do
    { "SpecJobs::NoSuchJob" => /job_class SpecJobs::NoSuchJob is not defined/,
      "SpecJobs::CreateAccount" => /job_class SpecJobs::CreateAccount is not an ActiveJob::Base subclass/ }.each do |name, problem|
      handler = template("bad_class", job_step("send", name), register: false)
      expect { handler.validate_handlers! }.to raise_error(TaskerCore::ValidationError) { |e|
        expect(e.message).to start_with("template active_job_step/bad_class@1.0.0: step_templates[0] (send): handler_config ")
          .and match(problem)
        expect(e.details).to include("step" => "send", "handler_class" => "TaskerCore::StepHandler::ActiveJobStep", "job_class" => name)
      }
    end
  end

  it "refuses handler_config it cannot use, naming the entry" do
    {
      { "arguments" => ["contxt.user"] } => /handler_config.arguments\[0\]: expected "context", .* got "contxt.user"/,
      { "keyword_arguments" => { "to" => 5 } } => /handler_config.keyword_arguments.to: expected .* got 5/,
      { "arguments" => "context" } => /handler_config: "context" \(String\) has invalid type for :arguments/,
      { "job" => "x" } => /handler_config: unexpected keys \[:job\]/
    }.each do |config, problem|
      step = job_step("send", "SpecJobs::FlakyJob").tap { |st| st["handler_config"].merge!(config) }
      handler = template("bad_config", step, register: false)
      expect { handler.validate_handlers! }.to raise_error(TaskerCore::ValidationError, problem)
    end
  end

  it "in a Rails app: a job in app/jobs runs as a step (looked up through Zeitwerk when the worker starts), " \
     "and StartTaskJob on the async adapter starts the task" do
    Dir.mktmpdir do |dir|
      FileUtils.mkdir_p(File.join(dir, "app", "jobs"))
      FileUtils.mkdir_p(File.join(dir, "config", "initializers"))
      File.write(File.join(dir, "app", "jobs", "welcome_email_job.rb"), <<~JOB)
        class WelcomeEmailJob < ActiveJob::Base
          retry_on StandardError, wait: 30 # on the async adapter: again in 30 s
          def perform(user_id)
            $performs += 1
            raise "smtp down" if executions == 1
            { "welcomed" => user_id, "attempt" => executions }
          end
        end
      JOB
      File.write(File.join(dir, "config", "initializers", "tasker.rb"), <<~INIT)
        TaskerCore::TaskHandler::Base.new(yaml: {
          "name" => "signup", "namespace_name" => "rails_active_job", "version" => "1.0.0",
          "step_templates" => [{ "name" => "welcome", "handler_class" => "TaskerCore::StepHandler::ActiveJobStep",
                                 "handler_config" => { "job_class" => "WelcomeEmailJob", "arguments" => ["context.user_id"] } }]
        }.to_yaml)
      INIT
      out, status = Subprocess.ruby(<<~RUBY, timeout: 60, env: { "DATABASE_URL" => SpecDatabase.url })
        require "rails"
        require "active_job/railtie"
        require "timeout"
        require "tasker_core"
        class SpecApp < Rails::Application
          config.load_defaults 6.1
          config.root = #{dir.inspect}
          config.eager_load = false
          config.logger = Logger.new(nil)
          config.active_job.queue_adapter = :async
        end
        Rails.env = "test"
        SpecApp.initialize!
        TaskerCore.configure { |c| c.backoff = { base_ms: 20, multiplier: 1.0, max_ms: 50, jitter_fraction: 0.0 } }
        $performs = 0
        started = Queue.new
        TaskerCore.on("task.initialize_requested") { |payload| started << payload[:task_id] }
        TaskerCore::StartTaskJob.perform_later(namespace: "rails_active_job", name: "signup", context: { "user_id" => 7 })
        task_id = Timeout.timeout(30) { started.pop }
        puts "started=\#{task_id.is_a?(Integer)} job_loaded=\#{Object.autoload?(:WelcomeEmailJob).nil?}"
        worker = TaskerCore::Worker.new(namespaces: ["rails_active_job"], threads: 1, poll_interval: 0.05).start
        deadline = Time.now + 30
        sleep 0.05 until TaskerCore::Engine.task_status(task_id).finished? || Time.now > deadline
        worker.stop(deadline: 5)
        task = TaskerCore::Engine.task_status(task_id)
        puts "status=\#{task.status} attempts=\#{task.step("welcome").attempts} performs=\#{$performs} " \
             "result=\#{task.step("welcome").results.to_json}"
      RUBY
      expect(status).to be_success, out
      expect(out).to include("started=true job_loaded=false",
                             'status=complete attempts=2 performs=2 result={"welcomed":7,"attempt":2}')
    end
  end
end
