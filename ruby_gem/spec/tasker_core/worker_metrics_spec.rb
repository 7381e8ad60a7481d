# frozen_string_literal: true

require "net/http"
require "socket"
require_relative "../support/worker_handlers"
require_relative "../support/dashboard"
require_relative "../support/prometheus"

# A worker's own /metrics and /health (Worker.new(metrics_port:)), served
# while it runs real steps: the per-namespace counters agree with what the
# engine recorded, the dispatcher's latency histograms count every step,
# and /health turns 503 when the processors are dead or the worker quiet.
RSpec.describe "a worker's metrics listener" do
  def get(port, path)
    Net::HTTP.start("127.0.0.1", port, open_timeout: 2, read_timeout: 10) { |http| http.get(path) }
  end

  def wait_until(timeout: 30, &block) = WorkerSpecs.wait_until(timeout: timeout, &block)

  def health(port) = get(port, "/health").then { |r| [r.code.to_i, JSON.parse(r.body)] }

  it "counts steps per namespace, times the dispatcher, and reports processors in /health" do
    ns = DashboardTasks.namespace("metrics")
    handler = DashboardTasks.handler(ns)
    ids = [handler.initialize_task(context: {}).task_id,
           handler.initialize_task(context: { "failures" => { "charge_payment" => "permanent" } }).task_id,
           handler.initialize_task(context: { "failures" => { "ship_order" => "retry_once" } }).task_id]
    worker = TaskerCore::Worker.new(namespaces: [ns], threads: 2, poll_interval: 0.05, metrics_port: 0)
    expect(worker.metrics_port).to eq(0) # the system picks one at start
    worker.start
    port = worker.metrics_port
    begin
      expect(wait_until { ids.all? { |id| TaskerCore::Engine.task_status(id).finished? } }).to be(true)
      expect(ids.map { |id| TaskerCore::Engine.task_status(id).status }).to eq(%w[complete error complete])
      steps = ids.flat_map { |id| TaskerCore::Engine.task_status(id).steps }
      attempts = steps.sum(&:attempts)

      response = get(port, "/metrics")
      expect(response.code).to eq("200")
      expect(response["Content-Type"]).to eq("text/plain; version=0.0.4; charset=utf-8")
      m = PrometheusText.parse(response.body)
      expect(m.value("tasker_steps_completed_total", namespace: ns)).to eq(steps.count(&:complete?))
      expect(m.value("tasker_steps_failed_total", namespace: ns)).to eq(1)
      expect(m.value("tasker_steps_retried_total", namespace: ns)).to eq(1)
      expect(m.value("tasker_step_duration_seconds_count", namespace: ns)).to eq(attempts)

      id = { worker_id: worker.worker_id }
      expect(m.value("tasker_worker_up", **id)).to eq(1)
      expect(m.value("tasker_worker_processors", **id)).to eq(2)
      expect(m.value("tasker_worker_processors_alive", **id)).to eq(2)
      expect(m.value("tasker_dispatcher_reports_total", **id, outcome: "completed")).to eq(steps.count(&:complete?))
      expect(m.value("tasker_dispatcher_reports_total", **id, outcome: "failed")).to eq(2)
      expect(m.value("tasker_dispatcher_handoff_seconds_count", **id)).to eq(attempts)
      expect(m.value("tasker_dispatcher_report_seconds_count", **id)).to eq(attempts)
      expect(m.value("tasker_dispatcher_claim_seconds_count", **id)).to eq(m.value("tasker_dispatcher_claims_total", **id))
      expect(m.value("tasker_dispatcher_report_seconds_sum", **id)).to be > 0
      expect(m.type("tasker_dispatcher_handoff_seconds")).to eq("histogram")
      expect(m.value("tasker_library_goroutines")).to be > 0

      status, body = health(port)
      expect(status).to eq(200)
      expect(body).to include("status" => "ok")
      expect(body["checks"]["processors"]).to include("ok" => true, "state" => "running", "expected" => 2, "alive" => 2)
      expect(body["checks"]["database"]).to include("ok" => true)
      expect(get(port, "/nope").code).to eq("404")

      # Processor threads killed under the manager (it never hears of it).
      worker.processor_threads.each(&:kill)
      expect(wait_until(timeout: 5) { worker.processor_threads.none?(&:alive?) }).to be(true)
      status, body = health(port)
      expect(status).to eq(503)
      expect(body).to include("status" => "failing")
      expect(body["checks"]["processors"]).to include("ok" => false, "alive" => 0, "expected" => 2)
      expect(PrometheusText.parse(get(port, "/metrics").body).value("tasker_worker_processors_alive", **id)).to eq(0)
    ensure
      worker.stop(deadline: 1)
    end
    expect { get(port, "/health") }.to raise_error(Errno::ECONNREFUSED) # closed with the worker
  end

  it "answers 503 once the worker is quiet, and refuses a port in use before starting anything" do
    ns = DashboardTasks.namespace("metrics")
    DashboardTasks.handler(ns)
    worker = TaskerCore::Worker.new(namespaces: [ns], threads: 1, poll_interval: 0.05, metrics_port: 0).start
    port = worker.metrics_port
    begin
      expect(health(port).first).to eq(200)
      worker.quiet
      status, body = health(port)
      expect(status).to eq(503)
      expect(body["checks"]["processors"]).to include("ok" => false, "state" => "quiet")
      expect(PrometheusText.parse(get(port, "/metrics").body).value("tasker_worker_up", worker_id: worker.worker_id)).to eq(0)

      taken = TaskerCore::Worker.new(namespaces: [ns], threads: 1, metrics_port: port)
      expect { taken.start }.to raise_error(ArgumentError, /metrics listener cannot bind 127.0.0.1:#{port}/)
      expect(taken.state).to eq("not_started")
    ensure
      worker.stop(deadline: 5)
    end
    expect(worker.state).to eq("stopped")
    expect { TaskerCore::Worker.new(metrics_port: 70_000) }.to raise_error(ArgumentError, /metrics_port must be an Integer within 0..65535/)
  end

  it "serves them from `tasker-core worker --metrics-port`" do
    fixture = File.expand_path("../fixtures/worker/handlers.rb", __dir__)
    exe = File.expand_path("../../exe/tasker-core", __dir__)
    workflow = { "name" => "cli_metrics", "steps" => ["s"], "handler" => "SpecHandlers::Slow", "namespace" => "spec_cli_metrics" }
    WorkerSpecs.handler(workflow["name"], workflow["steps"], handler: workflow["handler"], namespace: workflow["namespace"])
    port = TCPServer.new("127.0.0.1", 0).then { |s| s.addr[1].tap { s.close } }
    env = { "DATABASE_URL" => SpecDatabase.url, "TASKER_SPEC_WORKFLOWS" => JSON.generate([workflow]) }
    stdin, io, wait = Open3.popen2e(env, RbConfig.ruby, exe, "worker", "-r", fixture, "--threads", "2",
                                    "--metrics-port", port.to_s, pgroup: true)
    stdin.close
    reader = Thread.new { io.read }
    begin
      up = wait_until { (health(port) rescue nil)&.first == 200 } # rubocop:disable Style/RescueModifier
      expect(up).to be(true), -> { reader.join(0.1) && reader.value }
      metrics = PrometheusText.parse(get(port, "/metrics").body)
      expect(metrics.samples("tasker_worker_processors").map(&:value)).to eq([2])
    ensure
      Process.kill("TERM", wait.pid)
      wait.join(20) or Process.kill("KILL", -wait.pid)
    end
    expect(wait.value.exitstatus).to eq(0), reader.value
  end
end
