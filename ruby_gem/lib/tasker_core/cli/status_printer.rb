# frozen_string_literal: true

module TaskerCore
  class CLI
    # Prints a task's DAG: one line per step, indented by dependency level,
    # with its state, attempts and duration.
    class StatusPrinter
      def initialize(out = $stdout)
        @out = out
      end

      # Blocks (two engine calls).
      def print(task_id)
        status = Engine.task_status(task_id)
        levels = Engine.dependency_levels(task_id)
        @out.puts "task #{status.task_id} #{status.namespace}/#{status.name}@#{status.version}: #{status.status}"
        status.steps.sort_by { |s| [levels.fetch(s.workflow_step_id, 0), s.workflow_step_id] }.each do |s|
          @out.puts line(s, levels.fetch(s.workflow_step_id, 0))
        end
        status
      end

      def line(step, level)
        name = "#{'  ' * (level + 1)}#{step.name}"
        duration = step.duration_ms ? "#{step.duration_ms}ms" : "-"
        deps = step.depends_on.nil? || step.depends_on.empty? ? "" : "  <- #{step.depends_on.join(', ')}"
        err = step.last_error.is_a?(Hash) && step.status != "complete" ? "  (#{step.last_error['message']})" : ""
        format("%-34<name>s %-18<state>s attempts=%<attempts>d  %<duration>8s%<deps>s%<err>s",
               name: name, state: step.status, attempts: step.attempts.to_i, duration: duration, deps: deps, err: err)
      end
    end
  end
end
