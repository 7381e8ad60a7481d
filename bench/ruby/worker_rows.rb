# frozen_string_literal: true

# The Ruby worker's rows of tasker-bench, run through its -external hook:
#
#   tasker-bench -external 'ruby-burn-down=ruby bench/ruby/worker_rows.rb burn-down' \
#                -external 'ruby-idle=ruby bench/ruby/worker_rows.rb idle'
#
# burn-down: TASKER_BENCH_UNITS one-step tasks drained by a TaskerCore::Worker with
# TASKER_BENCH_WORKERS processor threads and a no-op handler (compare_to burn-down).
# idle: TASKER_BENCH_CHAINS (e.g. 10x50) chains run one at a time with idle processors;
# handoff = a parent's step.completed event to its child's handler start (compare_to idle).
# Prints one JSON object on its last line (see docs/PERFORMANCE.md).

$LOAD_PATH.unshift File.expand_path("../../ruby_gem/lib", __dir__)
require "tasker_core"
require "json"
require "logger"
require "yaml"

module BenchRuby
  CLOCK = Process::CLOCK_MONOTONIC

  # The no-op handler: records when each step started, by name.
  class Noop < TaskerCore::StepHandler::Base
    STARTS = Queue.new

    def process(_task, _sequence, step)
      STARTS << [step.name, Process.clock_gettime(CLOCK)]
      {}
    end
  end

  module_function

  def template(name, steps)
    TaskerCore::TaskHandler::Base.new(yaml: {
      "name" => name, "namespace_name" => ENV.fetch("TASKER_BENCH_NAMESPACE", "bench"), "version" => "1.0.0",
      "identity_strategy" => "always_unique",
      "step_templates" => steps.map { |s, deps| { "name" => s, "handler_class" => "BenchRuby::Noop", "depends_on_steps" => deps } }
    }.to_yaml).register!
  end

  def percentile(sorted, p)
    sorted.empty? ? nil : sorted[[(sorted.size * p).ceil - 1, 0].max] * 1000.0
  end

  def worker
    TaskerCore::Worker.new(namespaces: [ENV.fetch("TASKER_BENCH_NAMESPACE", "bench")],
                           threads: Integer(ENV.fetch("TASKER_BENCH_WORKERS", "50")), poll_interval: 0.02)
  end

  def burn_down
    units = Integer(ENV.fetch("TASKER_BENCH_UNITS", "5000"))
    handler = template("ruby_noop", { "work" => [] })
    units.times { |i| handler.initialize_task(context: { "i" => i }, initiator: "bench") }
    done = Queue.new
    TaskerCore.on("step.completed") { |_| done << true }
    w = worker
    started = Process.clock_gettime(CLOCK)
    w.start
    units.times { done.pop }
    seconds = Process.clock_gettime(CLOCK) - started
    w.stop(deadline: 10)
    { "side" => "ruby", "name" => "burn-down #{units} (Ruby worker)", "compare_to" => "burn-down",
      "workers" => w.threads, "units" => units, "unit" => "steps", "seconds" => seconds,
      "extra" => { "live_handles_at_end" => TaskerCore::Native.tasker_live_handles } }
  end

  def idle
    chains, length = ENV.fetch("TASKER_BENCH_CHAINS", "4x50").split("x").map { |n| Integer(n) }
    names = Array.new(length) { |i| format("c%03d", i) }
    handler = template("ruby_chain_#{length}", names.each_with_index.to_h { |n, i| [n, i.zero? ? [] : [names[i - 1]]] })
    completed = Queue.new
    TaskerCore.on("step.completed") { |p| completed << [p[:step_name], Process.clock_gettime(CLOCK)] }
    w = worker
    w.start
    handoffs = []
    seconds = 0.0
    chains.times do
      sleep 0.05
      handler.initialize_task(context: {}, initiator: "bench")
      t0 = Process.clock_gettime(CLOCK)
      done_at = {}
      length.times do
        name, at = completed.pop
        done_at[name] = at
      end
      seconds += Process.clock_gettime(CLOCK) - t0
      starts = {}
      starts.store(*BenchRuby::Noop::STARTS.pop) until BenchRuby::Noop::STARTS.empty?
      names.each_cons(2) { |parent, child| handoffs << [starts.fetch(child) - done_at.fetch(parent), 0].max }
    end
    w.stop(deadline: 10)
    sorted = handoffs.sort
    { "side" => "ruby", "name" => "idle #{chains}x#{length} (Ruby worker)", "compare_to" => "idle",
      "workers" => w.threads, "units" => chains * length, "unit" => "steps", "seconds" => seconds,
      "handoff_p50_ms" => percentile(sorted, 0.5), "handoff_p95_ms" => percentile(sorted, 0.95),
      "extra" => { "live_handles_at_end" => TaskerCore::Native.tasker_live_handles },
      "notes" => ["handoff: the parent's step.completed event (its report returned) to the child's handler start"] }
  end
end

TaskerCore.configure do |c|
  c.database_url = ENV.fetch("TASKER_BENCH_DATABASE_URL")
  c.logger = Logger.new($stderr, level: Logger::WARN)
end
result = case ARGV.fetch(0, "burn-down")
         when "burn-down" then BenchRuby.burn_down
         when "idle" then BenchRuby.idle
         else abort("usage: worker_rows.rb burn-down|idle")
         end
puts JSON.generate(result)
