# frozen_string_literal: true

module TaskerCore
  # The health check behind /health (TaskerCore::Web, and a worker's metrics
  # listener): the database answers a round trip within timeout_ms, and, for
  # a worker, it is running with every processor thread alive. Report.ok?
  # is what a load balancer or a Kubernetes probe should act on.
  #
  #   report = TaskerCore::Health.check(worker: worker)
  #   report.http_status   # 200 or 503
  #   report.to_h          # {"status" => "ok" | "failing", "checks" => {"database" => {...}, "processors" => {...}}}
  module Health
    Report = Struct.new(:checks) do
      def ok? = checks.values.all? { |c| c["ok"] }
      def http_status = ok? ? 200 : 503
      def to_h = { "status" => ok? ? "ok" : "failing", "checks" => checks }
      def to_json(*args) = to_h.to_json(*args)
    end

    module_function

    # Blocks up to timeout_ms on the database. Never raises for an
    # unhealthy part: it is reported, with its error.
    def check(worker: nil, timeout_ms: 1_000)
      checks = { "database" => database(timeout_ms) }
      checks["processors"] = processors(worker) if worker
      Report.new(checks)
    end

    def database(timeout_ms)
      seconds = TaskerCore.ping(timeout_ms: timeout_ms)
      { "ok" => true, "latency_ms" => (seconds * 1000).round(2) }
    rescue Error => e
      { "ok" => false, "error" => "#{e.class.name.split('::').last}: #{e.message}" }
    end

    # Healthy while running (not quiet, stopping or stopped by a fatal
    # condition) with every processor thread alive: a dead processor is
    # replaced at once, so one missing for longer is a thread killed under
    # the manager or a worker going down.
    def processors(worker)
      counts = worker.processor_counts
      state = worker.state
      ok = state == "running" && counts[:alive] == counts[:expected]
      { "ok" => ok, "state" => state }.merge(counts.transform_keys(&:to_s))
    end
  end
end
