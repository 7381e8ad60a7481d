# frozen_string_literal: true

module TaskerCore
  module Metrics
    # The engine's state as gauges, from one Operations.stats call (indexes
    # only: cheap enough to scrape): tasks and open steps by state, the ready
    # queue's depth and age, recorded stuck work, and the attempts finished
    # in the last whole minute. The same for every process, so scrape it
    # from one place (TaskerCore::Web's /metrics), not from every worker.
    module DatabaseGauges
      module_function

      def write(exposition)
        stats = Operations.stats(minutes: 2)
        by_state(exposition, "tasker_tasks", "Tasks by state", "state", stats["tasks"])
        by_state(exposition, "tasker_open_steps", "Steps of unfinished tasks by state", "state", stats["open_steps"])
        exposition.family("tasker_ready_steps", "gauge", "Steps ready to be claimed now (the ready queue's depth)")
                  .sample("tasker_ready_steps", stats["ready_steps"])
        exposition.family("tasker_ready_oldest_seconds", "gauge",
                          "How long the oldest ready step has waited (0 when none is ready)")
                  .sample("tasker_ready_oldest_seconds", stats["oldest_ready_seconds"].to_f)
        by_state(exposition, "tasker_stuck_work", "Stuck work the maintenance leader recorded, by kind", "kind", stats["stuck"])
        last = stats["throughput"].first # the last whole minute; the second entry is the current one
        exposition.family("tasker_step_attempts_last_minute", "gauge",
                          "Step attempts finished in the last whole minute, by outcome (all workers)")
        %w[completed failed].each { |o| exposition.sample("tasker_step_attempts_last_minute", last ? last[o] : 0, outcome: o) }
        exposition
      end

      def by_state(exposition, name, help, label, counts)
        exposition.family(name, "gauge", help)
        counts.sort.each { |key, n| exposition.sample(name, n, label => key) }
      end
    end
  end
end
