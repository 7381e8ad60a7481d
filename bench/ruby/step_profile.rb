# frozen_string_literal: true

# Where the Ruby worker's per-step CPU goes: one thread runs N one-step tasks
# through a real Dispatcher the way Processor + StepRunner do, timing each
# piece separately (wall and this thread's CPU, microseconds per step). Run
# from the repository root after `make lib`:
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres ruby bench/ruby/step_profile.rb [N]
#
# A scratch database tasker_prof_<pid> is created and dropped. The last row,
# "StepRunner#run (whole)", is the gem's own path (handler + events + report)
# minus the next call, for the same steps. With the gem's complete_next the
# report hands the next step back, so the "next:" rows only count the steps
# that did not come that way. TASKER_PROF_LIB (and TASKER_CORE_LIB) point it
# at another checkout's gem (and library) to compare with the previous paths.

$LOAD_PATH.unshift ENV.fetch("TASKER_PROF_LIB", File.expand_path("../../ruby_gem/lib", __dir__))
require "tasker_core"
require "logger"
require "uri"
require "yaml"

module StepProfile
  WALL = Process::CLOCK_MONOTONIC
  CPU = Process::CLOCK_THREAD_CPUTIME_ID

  class Noop < TaskerCore::StepHandler::Base
    def process(_task, _sequence, _step) = {}
  end

  module_function

  def psql(url, sql)
    out = IO.popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql], err: %i[child out], &:read)
    raise "psql: #{out}" unless $?.success?
  end

  def url(db)
    u = URI.parse(ENV.fetch("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    u.path = "/#{db}"
    u.to_s
  end

  def time(stats, name)
    w = Process.clock_gettime(WALL)
    c = Process.clock_gettime(CPU)
    r = yield
    s = (stats[name] ||= [0.0, 0.0])
    s[0] += Process.clock_gettime(WALL) - w
    s[1] += Process.clock_gettime(CPU) - c
    r
  end

  def run(n)
    db = "tasker_prof_#{Process.pid}"
    psql(url("postgres"), "CREATE DATABASE #{db}")
    TaskerCore.configure do |c|
      c.database_url = url(db)
      c.logger = Logger.new($stderr, level: Logger::WARN)
    end
    TaskerCore.migrate
    handler = TaskerCore::TaskHandler::Base.new(yaml: {
      "name" => "prof", "namespace_name" => "prof", "version" => "1.0.0", "identity_strategy" => "always_unique",
      "step_templates" => [{ "name" => "work", "handler_class" => "StepProfile::Noop" }]
    }.to_yaml).register!
    (2 * n).times { |i| handler.initialize_task(context: { "i" => i, "who" => "bench" }, initiator: "prof") }
    TaskerCore.on("step.completed") { |_| nil } # the bench subscribes to this one
    disp = TaskerCore::Dispatcher.start({ worker_id: "prof", namespaces: ["prof"] })
    runner = TaskerCore::StepRunner.new(reporter: disp)
    manager = TaskerCore::OrchestrationManager.instance
    native = TaskerCore::Native
    inn = TaskerCore::Types::FFIInputs
    out = TaskerCore::Types::FFIOutputs
    # The gem's path: complete_next (the report hands the next step back),
    # else complete_checked (the previous gem), else dry-types (the one before).
    fused = disp.respond_to?(:complete_next)
    new = fused || disp.respond_to?(:complete_checked)
    handoff = TaskerCore::Dispatcher::Handoff.new if fused
    handed = 0
    [:pieces, :whole].each do |mode|
      stats = {}
      GC.start
      allocated = GC.stat(:total_allocated_objects)
      n.times do
        claimed = handoff&.step
        if claimed
          handoff.step = nil
          handed += 1
        else
          id = time(stats, "next: tasker_dispatcher_next (FFI)") { native.call_handle(:tasker_dispatcher_next, disp.instance_variable_get(:@handle).id, 1000) }
          raise "no step" if id.zero?

          h = time(stats, "next: handle_json (read + JSON.parse)") { native.handle_json(id, **(new ? { freeze: true } : {})) }
          time(stats, "next: handle_free") { native.handle_free(id) }
          claimed = time(stats, "next: ClaimedStep.from_h") { new ? out::ClaimedStep.from_h(h, frozen: true) : out::ClaimedStep.from_h(h) }
        end
        if mode == :whole
          time(stats, "StepRunner#run (whole: handler, events, report)") { fused ? runner.run(claimed, handoff) { |hd| hd.call } : runner.run(claimed) { |hd| hd.call } }
          next
        end
        payload = time(stats, "events: step.before_handle (payload + publish)") do
          p = { task_id: claimed.task_id, step_id: claimed.workflow_step_id, step_name: claimed.step_name, attempts: claimed.attempts }
          TaskerCore::Events.publish("step.before_handle", p)
          p
        end
        th = time(stats, "handler_for lookup") { manager.handler_for(claimed.namespace, claimed.task_name, claimed.task_version) }
        task, seq, step = time(stats, "Execution Task/Step/Sequence") do
          [TaskerCore::Execution::Task.new(id: claimed.task_id, context: claimed.task_context, namespace: claimed.namespace,
                                           name: claimed.task_name, version: claimed.task_version),
           TaskerCore::Execution::Sequence.new(claimed.dependency_results, step_id: claimed.workflow_step_id,
                                               claim_token: claimed.claim_token, step_name: claimed.step_name),
           TaskerCore::Execution::Step.new(id: claimed.workflow_step_id, name: claimed.step_name, attempts: claimed.attempts,
                                           retry_limit: claimed.retry_limit, retryable: claimed.retryable,
                                           config: claimed.handler_config, inputs: claimed.inputs)]
        end
        results = time(stats, "handler (no-op)") { th.process_step_with_handler(task, seq, step) }
        if new
          time(stats, "JSONEncoder.check!(results)") { TaskerCore::JSONEncoder.valid?(results) || TaskerCore::JSONEncoder.check!(results, "results") }
          json = time(stats, "complete: JSON.generate (no re-check)") do
            JSON.generate({ step_id: claimed.workflow_step_id, claim_token: claimed.claim_token, results: results }, allow_nan: false, max_nesting: false)
          end
        else
          time(stats, "JSONEncoder.check!(results)") { TaskerCore::JSONEncoder.check!(results, "results") }
          raw = { step_id: claimed.workflow_step_id, claim_token: claimed.claim_token, results: results }
          params = time(stats, "complete: dry-types validate!") { inn.validate!(:complete_step, inn::StepCompletion, raw) }
          json = time(stats, "complete: JSONEncoder.encode!") { TaskerCore::JSONEncoder.encode!(params, what: "complete_step") }
        end
        if fused
          slots = time(stats, "complete: tasker_dispatcher_complete_next (FFI)") do
            native.complete_next(disp.instance_variable_get(:@handle).id, json, 0, true)
          end
          time(stats, "handed-over step: JSON.parse + ClaimedStep.from_h") do
            j = slots[native::OUTCOME_LEN]
            handoff.step = j && out::ClaimedStep.from_h(JSON.parse(j, max_nesting: false, freeze: true), frozen: true)
          end
          res = time(stats, "StepHandleResult from the outcome slots") { disp.send(:step_result, slots, claimed.step_name, out.deep_freeze(results)) }
        else
          chandle = time(stats, "complete: tasker_dispatcher_complete (FFI)") do
            native.call_handle(:tasker_dispatcher_complete, disp.instance_variable_get(:@handle).id, json, 0)
          end
          rj = time(stats, "complete: handle_json + free") do
            new ? native.handle_json(chandle, freeze: true) : native.handle_json(chandle)
          ensure
            native.handle_free(chandle)
          end
          res = time(stats, "StepHandleResult.from_step_result") do
            if new
              out::StepHandleResult.from_step_result(rj, results: out.deep_freeze(results), frozen: true)
            else
              out::StepHandleResult.from_step_result(rj, results: out.deep_freeze(results))
            end
          end
        end
        time(stats, "events: step.handle + step.completed + task.*") do
          TaskerCore::Events.publish("step.handle", payload)
          TaskerCore::Events.publish("step.completed", payload)
          TaskerCore::Events.publish("task.completed", task_id: res.task_id) if res.task_status == "complete"
        end
      end
      allocated = GC.stat(:total_allocated_objects) - allocated
      puts "#{mode} (#{n} steps, #{handed} handed over by the previous report; us per step; " \
           "#{(allocated.to_f / n).round(1)} Ruby objects allocated per step incl. timing)"
      handed = 0
      puts format("  %-52s %9s %9s", "piece", "wall", "cpu")
      tw = tc = 0.0
      stats.each do |name, (w, c)|
        tw += w
        tc += c
        puts format("  %-52s %9.1f %9.1f", name, w * 1e6 / n, c * 1e6 / n)
      end
      puts format("  %-52s %9.1f %9.1f", "total", tw * 1e6 / n, tc * 1e6 / n)
    end
    raw = { step_id: 1, claim_token: "x", results: {} }
    stats = {}
    1000.times { time(stats, "tight loop: validate! x1") { inn.validate!(:complete_step, inn::StepCompletion, raw) } }
    puts format("  %-52s %9.1f %9.1f", "tight loop: validate! (same process)", stats.values[0][0] * 1e3, stats.values[0][1] * 1e3)
    disp.stop(5_000)
    disp.free
  ensure
    TaskerCore.shutdown if TaskerCore::Native.ready?
    psql(url("postgres"), "DROP DATABASE IF EXISTS #{db} WITH (FORCE)") if db
  end
end

StepProfile.run(Integer(ARGV.fetch(0, "1000")))
