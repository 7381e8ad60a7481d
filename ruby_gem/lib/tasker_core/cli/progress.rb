# frozen_string_literal: true

module TaskerCore
  class CLI
    # A status line that changes over time. On a terminal it is redrawn in
    # place ("\r"); anywhere else (a log file, CI, a pipe) each update is a
    # line of its own, printed only when it changed and at most once every
    # +interval+ seconds, and #finish always prints the last state.
    class Progress
      def initialize(out, interval: 0.5, clock: -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) })
        @out = out
        @tty = out.respond_to?(:tty?) && out.tty?
        @interval = interval
        @clock = clock
        @latest = nil  # the newest text given to #update
        @printed = nil # the last text written as a line (not a TTY)
        @printed_at = nil
        @width = 0
      end

      def update(text)
        @latest = text
        if @tty
          @out.print "\r#{text.ljust(@width)}"
          @width = text.size
          @out.flush
        elsif text != @printed && (@printed_at.nil? || @clock.call - @printed_at >= @interval)
          write_line(text)
        end
      end

      # Ends the status: a newline on a terminal; elsewhere the latest
      # state, unless it was the last line printed.
      def finish
        if @tty
          @out.puts if @latest
        elsif @latest && @latest != @printed
          write_line(@latest)
        end
        @out.flush
      end

      private

      def write_line(text)
        @out.puts text
        @out.flush
        @printed = text
        @printed_at = @clock.call
      end
    end
  end
end
