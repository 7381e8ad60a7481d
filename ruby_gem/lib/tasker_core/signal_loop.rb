# frozen_string_literal: true

require "io/wait"

module TaskerCore
  # Runs a Launcher in the foreground with Sidekiq's self-pipe: the trap
  # handlers only write the signal's name to a pipe, and the main thread
  # reads it and acts (a trap handler may not take locks or log).
  #
  #   TERM, INT  stop within the deadline, then return
  #   TSTP       quiet: take no more steps, finish the running ones
  #   TTIN       log every thread's name and backtrace
  #
  # A fatal condition reported by the launcher stops it the same way;
  # Launcher#fatal_error then tells the caller (the CLI exits non-zero).
  class SignalLoop
    SIGNALS = %w[TERM INT TSTP TTIN].freeze

    def initialize(launcher, deadline:, logger: TaskerCore.logger)
      @launcher = launcher
      @deadline = deadline
      @logger = logger
    end

    # Starts the launcher, blocks until TERM, INT or a fatal condition, then
    # stops it within the deadline. Returns Launcher#stop's answer (true
    # when every running step finished in time). Raises what Launcher#start
    # raises.
    def run
      reader, writer = IO.pipe
      previous = SIGNALS.to_h { |sig| [sig, trap(sig) { writer.write_nonblock("#{sig}\n", exception: false) }] }
      Native.ensure_ready! # loading after the traps lets Go add SA_ONSTACK to them
      Native.tasker_ensure_sigonstack # and again, in case it was loaded before (trap drops the flag)
      @launcher.on_fatal { |_error| writer.write_nonblock("FATAL\n", exception: false) }
      @launcher.start
      nil until handle(reader.wait_readable && reader.gets&.strip) == :stop
      @launcher.stop(deadline: @deadline)
    ensure
      previous&.each { |sig, handler| trap(sig, handler || "DEFAULT") }
      [reader, writer].each { |io| io&.close }
    end

    private

    def handle(signal)
      case signal
      when "TERM", "INT", nil
        @logger.info("tasker_core: #{signal || 'signal pipe closed'}: stopping worker (deadline #{@deadline}s)")
        :stop
      when "FATAL" then :stop
      when "TSTP" then @launcher.quiet
      when "TTIN" then dump_threads
      end
    end

    def dump_threads
      Thread.list.each do |thread|
        @logger.warn("tasker_core: thread #{thread.name || thread.inspect} (#{thread.status || 'dead'})\n" \
                     "#{(thread.backtrace || ['<no backtrace>']).join("\n")}")
      end
      @logger.warn("tasker_core: #{Thread.list.size} threads; Go: #{Native.stats['goroutines']} goroutines")
    end
  end
end
