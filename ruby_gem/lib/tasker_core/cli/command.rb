# frozen_string_literal: true

require "json"
require "optparse"

module TaskerCore
  class CLI
    # The exit statuses of every command (tasker-core --help lists them).
    EXIT_OK = 0
    EXIT_REFUSED = 1   # an action refused (wrong state) or failed (database, timeout)
    EXIT_USAGE = 2     # bad arguments or options: nothing was done
    EXIT_NOT_FOUND = 3 # an id, namespace or template that does not exist

    # An argument the CLI itself rejects (before any engine call).
    class UsageError < StandardError; end

    # The shared half of the operations commands: option parsing with
    # --json, durations and ids, error reporting and exit statuses. A
    # command's #run(argv) returns its exit status.
    class Command
      DURATION = /\A(\d+)(s|m|h|d)?\z/
      UNITS = { "s" => 1, "m" => 60, "h" => 3600, "d" => 86_400 }.freeze

      def initialize(out:, err:)
        @out = out
        @err = err
        @json = false
      end

      # Runs the command; every failure becomes a message on stderr (and an
      # {"error": ...} object on stdout with --json) and its exit status.
      def run(argv)
        @json = argv.include?("--json") # errors in options before it are JSON too
        call(parse(argv))
      rescue OptionParser::ParseError, UsageError, ValidationError => e
        failure(e, EXIT_USAGE)
      rescue NotFoundError => e
        failure(e, EXIT_NOT_FOUND)
      rescue Error => e
        failure(e, EXIT_REFUSED)
      end

      private

      def options(banner)
        OptionParser.new do |o|
          o.banner = "usage: tasker-core #{banner}"
          o.on("--json", "print the result as JSON") { @json = true }
          yield o
        end
      end

      def emit(data)
        @out.puts JSON.generate(data)
      end

      def failure(error, status)
        message = error.message.start_with?("tasker-core") ? error.message : "tasker-core: #{error.message}"
        @err.puts message
        if @json
          code = error.respond_to?(:code) ? error.code : "usage"
          details = error.respond_to?(:details) ? error.details : {}
          emit({ "error" => { "code" => code, "message" => error.message, "details" => details } })
        end
        status
      end

      # "90", "90s", "15m", "2h", "3d" as seconds.
      def duration(text, option)
        m = DURATION.match(text.to_s)
        raise UsageError, "#{option} takes a duration like 90s, 15m, 2h or 3d, got #{text.inspect}" unless m

        Integer(m[1], 10) * UNITS.fetch(m[2] || "s")
      end

      def id(text, what)
        n = Integer(text.to_s, 10, exception: false)
        raise UsageError, "#{what} must be a positive integer, got #{text.inspect}" unless n&.positive? && n < 2**63

        n
      end

      def age(seconds)
        s = seconds.to_f.round
        return "#{s}s" if s < 120
        return "#{s / 60}m" if s < 7200
        return "#{s / 3600}h" if s < 172_800

        "#{s / 86_400}d"
      end

      def since(time)
        time ? "#{age(Time.now - Time.parse(time))} ago" : "-"
      end
    end
  end
end
