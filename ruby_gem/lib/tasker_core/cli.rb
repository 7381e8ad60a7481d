# frozen_string_literal: true

require "optparse"
require_relative "../tasker_core"
require_relative "cli/status_printer"
require_relative "cli/demo"
require_relative "cli/task_commands"
require_relative "cli/action_commands"
require_relative "cli/health_commands"

module TaskerCore
  # The tasker-core executable: parses arguments and hands off to the gem
  # (HELP lists the commands; the operations commands are in cli/*_commands.rb
  # over TaskerCore::Operations).
  class CLI
    USAGE = "usage: tasker-core [--debug] COMMAND [options] (tasker-core --help lists the commands)"
    HELP = <<~TEXT
      usage: tasker-core [--debug] COMMAND [options]

      Commands:
        migrate                       apply the engine's migrations
        worker [options]              run a worker in the foreground (worker --help)
        demo [--orders N]             run the order fulfillment demo
        list [filters]                tasks newest first: --state S[,S] --namespace NS --template NAME[@VERSION]
                                      --older-than 2h --newer-than 15m --limit N (1..500) --before TASK_ID
        show TASK_ID                  a task's steps: state, attempts, duration, last error (status is an alias)
        retry TASK_ID...              move tasks in error back to pending (--reason TEXT)
        cancel TASK_ID...             cancel tasks and their unfinished steps (--reason TEXT)
        resolve STEP_ID               resolve a step manually (--reason TEXT, --results JSON)
        stuck                         steps past their lease or timeout, tasks with nothing runnable
        stats                         counts by state, ready steps, throughput per minute (--minutes N)

      list, show, stuck, stats, retry, cancel and resolve take --json (one JSON document on stdout;
      on failure {"error": {"code", "message", "details"}}). COMMAND --help shows a command's options.
      The database is DATABASE_URL (or TASKER_DATABASE_URL, or config/database.yml).

      Exit status:
        0  done
        1  refused or failed: a wrong state (retry of a task not in error, ...), a database error;
           for several ids: any id refused or failed
        2  usage: unknown command or option, bad argument or filter; nothing was done
        3  not found: an id, namespace or template that does not exist (for several ids: every
           failing id was not found)
    TEXT

    COMMANDS = {
      "list" => -> (out, err) { ListCommand.new(out: out, err: err) },
      "show" => -> (out, err) { ShowCommand.new(out: out, err: err) },
      "status" => -> (out, err) { ShowCommand.new(out: out, err: err) },
      "retry" => -> (out, err) { TaskActionCommand.new("retry", out: out, err: err) },
      "cancel" => -> (out, err) { TaskActionCommand.new("cancel", out: out, err: err) },
      "resolve" => -> (out, err) { ResolveCommand.new(out: out, err: err) },
      "stuck" => -> (out, err) { StuckCommand.new(out: out, err: err) },
      "stats" => -> (out, err) { StatsCommand.new(out: out, err: err) }
    }.freeze

    attr_reader :debug

    def initialize(out: $stdout, err: $stderr)
      @out = out
      @err = err
      @debug = false
    end

    # Returns the process exit status.
    def run(argv)
      argv = argv.dup
      @debug = !argv.delete("--debug").nil?
      command = argv.shift
      return COMMANDS.fetch(command).call(@out, @err).run(argv) if COMMANDS.key?(command)

      case command
      when "migrate" then migrate
      when "worker" then worker(argv)
      when "demo" then demo(argv)
      when "-h", "--help", "help"
        @out.puts HELP
        EXIT_OK
      else
        @err.puts(command.nil? ? HELP : "tasker-core: unknown command #{command.inspect}\n#{USAGE}")
        command.nil? ? EXIT_OK : EXIT_USAGE
      end
    end

    private

    def migrate
      result = TaskerCore.migrate
      applied = result.fetch("applied", [])
      @out.puts applied.empty? ? "up to date (version #{result['current_version']})" : "applied #{applied.map { |m| m['version'] }.join(', ')}; now at version #{result['current_version']}"
      0
    end

    # Runs a worker in the foreground (TaskerCore::SignalLoop: TERM/INT stop
    # within --deadline, TSTP quiets, TTIN dumps threads). Exit status 0
    # after a stop, 1 when a fatal condition stopped the worker.
    def worker(argv)
      opts, deadline = worker_options(argv)
      worker = Worker.new(**opts)
      @out.puts "tasker-core worker #{worker.worker_id}: #{worker.threads} processors, handlers: " \
                "#{OrchestrationManager.instance.list.join(', ')}"
      worker.run(deadline: deadline)
      return 0 unless worker.fatal_error

      warn "tasker-core: the worker stopped on a fatal error: #{worker.fatal_error.class}: #{worker.fatal_error.message}"
      1
    end

    def worker_options(argv)
      opts = { namespaces: [], templates: [] }
      deadline = 25
      OptionParser.new do |o|
        o.on("-r", "--require FILE", "Ruby file defining your step handlers") { |f| require File.expand_path(f) }
        o.on("-t", "--template FILE", "task template YAML (repeatable)") { |f| opts[:templates] << f }
        o.on("-n", "--namespace NAME", "claim only this namespace (repeatable; default: the registered handlers')") do |n|
          opts[:namespaces] << n
        end
        o.on("--all-namespaces", "claim steps of every namespace, handlers or not") { opts[:all] = true }
        o.on("--threads N", Integer, "processor threads") { |n| opts[:threads] = n }
        o.on("--lease-ms N", Integer, "claim lease in ms") { |n| opts[:lease_ms] = n }
        o.on("--step-timeout SECONDS", Float, "timeout of steps whose template sets none") { |n| opts[:step_timeout] = n }
        o.on("--timeout-grace SECONDS", Float, "before a timed-out handler's thread is abandoned") { |n| opts[:timeout_grace] = n }
        o.on("--deadline SECONDS", Float, "shutdown deadline (default 25)") { |n| deadline = n }
        o.on("--metrics-port PORT", Integer, "serve GET /metrics and /health on this port") { |n| opts[:metrics_port] = n }
        o.on("--metrics-host HOST", "the metrics listener's address (default 127.0.0.1)") { |h| opts[:metrics_host] = h }
        o.on("--batch-size N", Integer, "deprecated, ignored") { |n| opts[:batch_size] = n }
      end.parse!(argv)
      (opts.delete(:templates) + TaskerCore.config.template_paths).each { |t| TaskerCore.register_template(t) }
      opts.delete(:namespaces) if opts[:namespaces].empty?
      opts[:namespaces] = :all if opts.delete(:all)
      [opts, deadline]
    end

    def demo(argv)
      orders = 5
      OptionParser.new { |o| o.on("--orders N", Integer) { |n| orders = n } }.parse!(argv)
      Demo.new(orders: orders, out: @out).run ? 0 : 1
    end
  end
end
