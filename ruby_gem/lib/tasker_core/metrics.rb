# frozen_string_literal: true

require_relative "metrics/exposition"

module TaskerCore
  # What this process has seen of its steps, for Prometheus: steps completed,
  # failed for good and failed for a retry, and handler durations, per
  # namespace. StepRunner records each step as it logs it, so every worker
  # (and handle_one_step) counts without subscribing to anything; a counter
  # costs one mutex and one hash lookup per step.
  #
  # Render with Metrics.write(exposition); the worker's metrics listener
  # (Worker.new(metrics_port:)) and TaskerCore::Web's /metrics do.
  module Metrics
    # Handler duration buckets, in seconds.
    STEP_DURATION_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300].freeze
    OUTCOMES = { "complete" => :completed, "error" => :failed, "waiting_for_retry" => :retried }.freeze

    # One namespace's counts (a frozen snapshot from Metrics.steps): buckets
    # per bound, not cumulative, plus one above the last; sum in seconds.
    StepCounts = Struct.new(:completed, :failed, :retried, :buckets, :sum, keyword_init: true) do
      def self.zero = new(completed: 0, failed: 0, retried: 0, buckets: Array.new(STEP_DURATION_BOUNDS.size + 1, 0), sum: 0.0)

      def record(outcome, seconds)
        self[outcome] += 1 if outcome
        return if seconds.nil?

        buckets[STEP_DURATION_BOUNDS.bsearch_index { |b| b >= seconds } || STEP_DURATION_BOUNDS.size] += 1
        self.sum += seconds
      end

      def count = buckets.sum

      # Counts of observations at most each bound, as Prometheus wants them.
      def cumulative
        total = 0
        buckets.take(STEP_DURATION_BOUNDS.size).map { |n| total += n }
      end

      def snapshot = self.class.new(**to_h, buckets: buckets.dup.freeze).freeze
    end

    @lock = Mutex.new
    @steps = {}

    class << self
      # Counts one finished attempt: status is the step's state after it
      # (complete, error, waiting_for_retry); duration_ms the handler's.
      def record_step(namespace, status, duration_ms)
        outcome = OUTCOMES[status]
        seconds = duration_ms && (duration_ms / 1000.0)
        @lock.synchronize { (@steps[namespace] ||= StepCounts.zero).record(outcome, seconds) }
      end

      # {namespace => StepCounts} (frozen copies).
      def steps
        @lock.synchronize { @steps.transform_values(&:snapshot) }
      end

      # Adds this process's step counters and duration histograms to an
      # Exposition.
      def write(exposition)
        counts = steps.sort.to_h
        { completed: "Steps completed", failed: "Step attempts that failed for good (the step is in error)",
          retried: "Step attempts that failed and will be retried" }.each do |field, help|
          name = "tasker_steps_#{field}_total"
          exposition.family(name, "counter", "#{help}, by namespace, since this process started")
          counts.each { |ns, c| exposition.sample(name, c.public_send(field), namespace: ns) }
        end
        exposition.family("tasker_step_duration_seconds", "histogram", "Step handler durations, by namespace")
        counts.each do |ns, c|
          exposition.histogram("tasker_step_duration_seconds", bounds: STEP_DURATION_BOUNDS, counts: c.cumulative,
                                                                count: c.count, sum: c.sum, labels: { namespace: ns })
        end
        exposition
      end
    end
  end
end
