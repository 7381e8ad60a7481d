# frozen_string_literal: true

require "optparse"
require_relative "../tasker_core"
require_relative "cli/status_printer"
require_relative "cli/demo"

module TaskerCore
  # The tasker-core executable: parses arguments and hands off to the gem.
  #   tasker-core migrate
  #   tasker-core worker [-r FILE] [-t TEMPLATE.yaml] [-n NAMESPACE] [--threads N]
  #   tasker-core status TASK_ID
  #   tasker-core demo [--orders N]
  class CLI
    USAGE = "usage: tasker-core [--debug] migrate | worker [options] | status TASK_ID | demo [--orders N]"

    attr_reader :debug

    def initialize(out: $stdout)
      @out = out
      @debug = false
    end

    # Returns the process exit status.
    def run(argv)
      argv = argv.dup
      @debug = !argv.delete("--debug").nil?
      command = argv.shift
      case command
      when "migrate" then migrate
      when "worker" then worker(argv)
      when "status" then status(argv)
      when "demo" then demo(argv)
      else
        warn USAGE
        command.nil? || %w[-h --help help].include?(command) ? 0 : 2
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
        o.on("--batch-size N", Integer, "deprecated, ignored") { |n| opts[:batch_size] = n }
      end.parse!(argv)
      (opts.delete(:templates) + TaskerCore.config.template_paths).each { |t| TaskerCore.register_template(t) }
      opts.delete(:namespaces) if opts[:namespaces].empty?
      opts[:namespaces] = :all if opts.delete(:all)
      [opts, deadline]
    end

    def status(argv)
      id = Integer(argv.first || "", exception: false)
      return usage_error("status needs a numeric TASK_ID") unless id

      StatusPrinter.new(@out).print(id)
      0
    end

    def demo(argv)
      orders = 5
      OptionParser.new { |o| o.on("--orders N", Integer) { |n| orders = n } }.parse!(argv)
      Demo.new(orders: orders, out: @out).run ? 0 : 1
    end

    def usage_error(message)
      warn "tasker-core: #{message}\n#{USAGE}"
      2
    end
  end
end
