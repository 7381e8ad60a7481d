# frozen_string_literal: true

require_relative "command"
require_relative "status_printer"

module TaskerCore
  class CLI
    # tasker-core list [filters]: a page of tasks, newest first.
    class ListCommand < Command
      def parse(argv)
        filters = { states: [] }
        options("list [--state S[,S]] [--namespace NS [--template NAME[@VERSION]]] " \
                "[--older-than DURATION] [--newer-than DURATION] [--limit N] [--before TASK_ID] [--json]") do |o|
          o.on("--state STATES", "pending, in_progress, complete, error, cancelled, resolved_manually (comma-separated)") do |s|
            filters[:states].concat(s.split(","))
          end
          o.on("--namespace NS", "tasks of this namespace's templates") { |n| filters[:namespace] = n }
          o.on("--template NAME[@VERSION]", "tasks of this template (needs --namespace)") do |t|
            filters[:name], filters[:version] = t.split("@", 2)
          end
          o.on("--older-than DURATION", "requested more than DURATION ago (90s, 15m, 2h, 3d)") do |d|
            filters[:older_than] = duration(d, "--older-than")
          end
          o.on("--newer-than DURATION", "requested at most DURATION ago") { |d| filters[:newer_than] = duration(d, "--newer-than") }
          o.on("--limit N", "tasks per page, 1..#{Operations::MAX_PAGE} (50)") do |n|
            filters[:limit] = Integer(n, 10, exception: false) || raise(UsageError, "--limit must be an integer, got #{n.inspect}")
            unless filters[:limit].between?(1, Operations::MAX_PAGE)
              raise UsageError, "--limit must be within 1..#{Operations::MAX_PAGE}, got #{n}"
            end
          end
          o.on("--before TASK_ID", "the page after a previous one (its next_before_task_id)") { |b| filters[:before] = id(b, "--before") }
        end.parse!(argv)
        raise UsageError, "list takes no arguments, got #{argv.join(' ')}" unless argv.empty?

        filters
      end

      def call(filters)
        page = Operations.list(**filters)
        @json ? emit(page) : print_page(page)
        EXIT_OK
      end

      private

      def print_page(page)
        tasks = page["tasks"]
        return @out.puts("no tasks match") if tasks.empty?

        @out.puts format("%-10s %-18s %-40s %-16s %s", "TASK", "STATE", "TEMPLATE", "STEPS", "REQUESTED")
        tasks.each do |t|
          s = t["steps"]
          steps = "#{s['done']}/#{s['total']} done#{s['failed'].positive? ? ", #{s['failed']} failed" : ''}"
          @out.puts format("%-10d %-18s %-40s %-16s %s", t["task_id"], t["status"],
                           "#{t['namespace']}/#{t['name']}@#{t['version']}", steps, since(t["requested_at"]))
        end
        next_id = page["next_before_task_id"]
        @out.puts "more: add --before #{next_id} for the next page" if next_id
      end
    end

    # tasker-core show TASK_ID: the task's DAG with each step's state,
    # attempts, duration and last error.
    class ShowCommand < Command
      def parse(argv)
        options("show TASK_ID [--json]") { nil }.parse!(argv)
        raise UsageError, "show needs one TASK_ID, got #{argv.size} arguments" unless argv.size == 1

        id(argv.first, "TASK_ID")
      end

      def call(task_id)
        @json ? emit(Operations.show(task_id)) : StatusPrinter.new(@out).print(task_id)
        EXIT_OK
      end
    end
  end
end
