# frozen_string_literal: true

module TaskerCore
  module Metrics
    # A worker's own metrics, labelled with its worker_id: whether it runs,
    # its processors, and the library dispatcher's counters and latency
    # histograms (measured in Go where they happen: bindings/ABI.md
    # tasker_dispatcher_stats).
    module WorkerGauges
      REPORTS = { "completed" => "completed", "failed" => "failed", "timed_out" => "timed_out", "stale" => "stale",
                  "released" => "released" }.freeze
      COUNTERS = {
        "claims" => ["tasker_dispatcher_claims_total", "Claim round trips of the worker's producer"],
        "claimed" => ["tasker_dispatcher_steps_claimed_total", "Steps the producer claimed"],
        "handed_off" => ["tasker_dispatcher_steps_handed_off_total",
                         "Steps claimed by a flush for this worker's processors (local handoff)"],
        "flushes" => ["tasker_dispatcher_flushes_total", "Transactions recording reports"],
        "flush_retries" => ["tasker_dispatcher_flush_retries_total", "Flushes retried after a transient database error"],
        "rescued" => ["tasker_dispatcher_leases_rescued_total", "Expired leases of dead workers this worker rescued"]
      }.freeze
      HISTOGRAMS = {
        "claim_seconds" => ["tasker_dispatcher_claim_seconds", "Claim round trips of the producer"],
        "handoff_seconds" => ["tasker_dispatcher_handoff_seconds",
                              "From a step's claim to a processor receiving it"],
        "report_seconds" => ["tasker_dispatcher_report_seconds",
                             "From a processor's report to its being durable"]
      }.freeze

      module_function

      # worker: a TaskerCore::Worker.
      def write(exposition, worker)
        id = { worker_id: worker.worker_id }
        counts = worker.processor_counts
        exposition.family("tasker_worker_up", "gauge", "1 while the worker runs (not quiet, stopped or fatal)")
                  .sample("tasker_worker_up", worker.state == "running", id)
        { expected: "Processor threads configured", alive: "Processor threads alive",
          busy: "Processor threads running a step", abandoned: "Processor threads abandoned in a stuck handler" }
          .each do |key, help|
          name = key == :expected ? "tasker_worker_processors" : "tasker_worker_processors_#{key}"
          exposition.family(name, "gauge", help).sample(name, counts.fetch(key), id)
        end
        stats = worker.dispatcher_stats
        write_dispatcher(exposition, stats, id) if stats
        exposition
      end

      def write_dispatcher(exposition, stats, id)
        { "waiting" => "Processors waiting for a step", "running" => "Steps handed out and not reported",
          "queued_reports" => "Reports waiting to be recorded" }.each do |key, help|
          exposition.family("tasker_dispatcher_#{key}", "gauge", help).sample("tasker_dispatcher_#{key}", stats[key], id)
        end
        exposition.family("tasker_dispatcher_reports_total", "counter",
                          "Reports recorded, by outcome (timed_out: failed by the dispatcher; stale: refused)")
        REPORTS.each { |key, outcome| exposition.sample("tasker_dispatcher_reports_total", stats[key], id.merge(outcome: outcome)) }
        COUNTERS.each { |key, (name, help)| exposition.family(name, "counter", help).sample(name, stats[key], id) }
        HISTOGRAMS.each do |key, (name, help)|
          h = stats[key] or next # a library older than the gem's docs
          exposition.family(name, "histogram", help)
          exposition.histogram(name, bounds: h["bounds"], counts: h["counts"], count: h["count"], sum: h["sum_seconds"],
                                     labels: id)
        end
      end
    end
  end
end
