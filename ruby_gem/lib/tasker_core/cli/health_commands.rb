# frozen_string_literal: true

require_relative "command"

module TaskerCore
  class CLI
    # tasker-core stuck: steps in progress past their lease or timeout, and
    # tasks with nothing runnable, each with why.
    class StuckCommand < Command
      def parse(argv)
        opts = {}
        options("stuck [--step-timeout DURATION] [--limit N] [--json]") do |o|
          o.on("--step-timeout DURATION", "timeout of steps whose template sets none (the worker setting, " \
                                          "#{TaskerCore.config.worker_step_timeout}s)") do |d|
            opts[:default_step_timeout] = duration(d, "--step-timeout")
            raise UsageError, "--step-timeout must be at least 1s" if opts[:default_step_timeout].zero?
          end
          o.on("--limit N", "findings of each kind, 1..1000 (100)") do |n|
            opts[:limit] = Integer(n, 10, exception: false)
            raise UsageError, "--limit must be within 1..1000, got #{n}" unless opts[:limit]&.between?(1, 1000)
          end
        end.parse!(argv)
        raise UsageError, "stuck takes no arguments, got #{argv.join(' ')}" unless argv.empty?

        opts
      end

      def call(opts)
        report = Operations.stuck(**opts)
        @json ? emit(report) : print_report(report["work"])
        EXIT_OK
      end

      private

      def print_report(work)
        return @out.puts("nothing is stuck") if work.empty?

        @out.puts format("%-17s %-9s %-28s %-10s %s", "KIND", "TASK", "STEP", "SEEN", "WHY")
        work.each do |w|
          step = w["step_id"] ? "#{w['step_name']} (#{w['step_id']})" : "-"
          @out.puts format("%-17s %-9d %-28s %-10s %s", w["kind"], w["task_id"], step,
                           w["first_seen_at"] ? since(w["first_seen_at"]) : "now", w["reason"])
        end
      end
    end

    # tasker-core stats: tasks and open steps by state, ready steps and the
    # oldest one's wait, recorded stuck work, throughput per minute.
    class StatsCommand < Command
      def parse(argv)
        minutes = nil
        options("stats [--minutes N] [--json]") do |o|
          o.on("--minutes N", "throughput history, 1..#{Operations::MAX_STATS_MINUTES} (15)") do |n|
            minutes = Integer(n, 10, exception: false)
            unless minutes&.between?(1, Operations::MAX_STATS_MINUTES)
              raise UsageError, "--minutes must be within 1..#{Operations::MAX_STATS_MINUTES}, got #{n}"
            end
          end
        end.parse!(argv)
        raise UsageError, "stats takes no arguments, got #{argv.join(' ')}" unless argv.empty?

        minutes
      end

      def call(minutes)
        s = Operations.stats(minutes: minutes)
        @json ? emit(s) : print_stats(s)
        EXIT_OK
      end

      private

      def print_stats(s)
        @out.puts "tasks:       #{counts(s['tasks'], Operations::TASK_STATES)}"
        @out.puts "open steps:  #{counts(s['open_steps'], %w[pending in_progress waiting_for_retry error])}"
        oldest = s["oldest_ready_seconds"]
        @out.puts "ready steps: #{s['ready_steps']}#{oldest ? " (oldest waiting #{age(oldest)})" : ''}"
        @out.puts "stuck:       #{counts(s['stuck'], %w[lease_expired past_timeout no_runnable_step])} " \
                  "(as of the last maintenance round; tasker-core stuck looks now)"
        @out.puts "throughput per minute (completed / failed attempts):"
        s["throughput"].each do |m|
          @out.puts format("  %s  %6d / %d", Time.parse(m["minute"]).localtime.strftime("%H:%M"), m["completed"], m["failed"])
        end
      end

      def counts(hash, order)
        order.map { |k| "#{k} #{hash.fetch(k, 0)}" }.join("  ")
      end
    end
  end
end
