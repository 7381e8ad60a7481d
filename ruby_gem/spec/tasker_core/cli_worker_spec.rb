# frozen_string_literal: true

require "json"
require "open3"
require_relative "../support/worker_handlers"

# `tasker-core worker` as a supervisor runs it: a subprocess stopped with
# TERM, and one that must exit non-zero on a fatal condition.
RSpec.describe "tasker-core worker" do
  exe = File.expand_path("../../exe/tasker-core", __dir__)
  fixture = File.expand_path("../fixtures/worker/handlers.rb", __dir__)

  # Starts the worker; returns [wait thread, output reader thread].
  define_method(:spawn_worker) do |args, workflows, env: {}|
    env = { "DATABASE_URL" => SpecDatabase.url, "TASKER_SPEC_WORKFLOWS" => JSON.generate(workflows) }.merge(env)
    stdin, io, wait = Open3.popen2e(env, RbConfig.ruby, exe, "worker", "-r", fixture, *args, pgroup: true)
    stdin.close
    [wait, Thread.new { io.read }]
  end

  def finish(wait, reader, timeout:)
    unless wait.join(timeout)
      Process.kill("KILL", -wait.pid)
      raise "worker did not exit within #{timeout}s: #{reader.join(1) && reader.value}"
    end
    [wait.value, reader.value]
  end

  def steps(task_ids)
    task_ids.flat_map { |id| TaskerCore::Engine.task_status(id).steps.map { |s| [s.status, s.attempts] } }
  end

  it "stops on TERM: the running steps finish, the unstarted ones stay pending, nothing stays in_progress, exit 0" do
    workflow = { "name" => "cli_slow", "steps" => ["s"], "handler" => "SpecHandlers::Slow", "namespace" => "spec_cli_term" }
    handler = WorkerSpecs.handler(workflow["name"], workflow["steps"], handler: workflow["handler"], namespace: workflow["namespace"])
    ids = Array.new(4) { handler.initialize_task(context: { "sleep" => 1.5 }).task_id }
    wait, reader = spawn_worker(%w[-n spec_cli_term --threads 3 --deadline 15], [workflow])
    running = WorkerSpecs.wait_until(timeout: 30) { steps(ids).count { |s| s == ["in_progress", 1] } == 3 }
    expect(running).to be(true), -> { "#{steps(ids).inspect}\n#{reader.join(0.1) && reader.value}" }
    Process.kill("TERM", wait.pid)
    status, out = finish(wait, reader, timeout: 20)
    expect(status.exitstatus).to eq(0), out
    expect(steps(ids).sort).to eq([["complete", 1]] * 3 + [["pending", 0]])
    expect(out).to include("3 processors")
  end

  it "logs every thread's backtrace on TTIN and takes no more steps after TSTP" do
    workflow = { "name" => "cli_quiet", "steps" => ["s"], "handler" => "SpecHandlers::Slow", "namespace" => "spec_cli_quiet" }
    handler = WorkerSpecs.handler(workflow["name"], workflow["steps"], handler: workflow["handler"], namespace: workflow["namespace"])
    wait, reader = spawn_worker(%w[-n spec_cli_quiet --threads 2 --deadline 5], [workflow])
    first = handler.initialize_task(context: { "sleep" => 0 }).task_id
    expect(WorkerSpecs.wait_until(timeout: 30) { TaskerCore::Engine.task_status(first).finished? }).to be(true)
    Process.kill("TTIN", wait.pid)
    Process.kill("TSTP", wait.pid)
    sleep 1
    later = handler.initialize_task(context: { "sleep" => 0 }).task_id
    sleep 1.5
    expect(steps([later])).to eq([["pending", 0]]) # quiet: nothing claimed
    Process.kill("TERM", wait.pid)
    status, out = finish(wait, reader, timeout: 20)
    expect(status.exitstatus).to eq(0), out
    expect(out).to include("tasker_core: thread tasker_core.worker.0 (", "tasker_core: thread tasker_core.watchdog (",
                           "goroutines")
  end

  it "exits non-zero when every processor is stuck in a handler that ignores its timeout" do
    workflow = { "name" => "cli_stuck", "steps" => ["s"], "handler" => "SpecHandlers::Stubborn", "namespace" => "spec_cli_stuck",
                 "timeout_seconds" => 1 }
    handler = WorkerSpecs.handler(workflow["name"], workflow["steps"], handler: workflow["handler"],
                                                                      namespace: workflow["namespace"], timeout_seconds: 1)
    handler.initialize_task(context: {})
    wait, reader = spawn_worker(%w[-n spec_cli_stuck --threads 1 --timeout-grace 1 --deadline 2], [workflow])
    status, out = finish(wait, reader, timeout: 30)
    expect(status.exitstatus).to eq(1), out
    expect(out).to include("tasker_core.worker.0 is stuck in its handler after a timeout; abandoning the thread",
                           "the worker stopped on a fatal error",
                           "1 processor threads are stuck in handlers (of 1)")
  end

  it "exits non-zero when the library cannot be loaded" do
    wait, reader = spawn_worker(%w[--threads 1], [], env: { "TASKER_CORE_LIB" => "/nonexistent/libtasker_core.so" })
    status, out = finish(wait, reader, timeout: 30)
    expect(status.exitstatus).to eq(1), out
    expect(out).to include("TASKER_CORE_LIB=/nonexistent/libtasker_core.so does not exist")
  end
end
