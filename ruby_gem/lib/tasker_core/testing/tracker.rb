# frozen_string_literal: true

module TaskerCore
  module Testing
    # The ids of the tasks this process creates, by scope: TaskerCore::Testing
    # opens one for the suite and one per example, and purges a scope's tasks
    # when it closes. Engine.initialize_task, the one path every task of this
    # process is created by (TaskHandler::Base#initialize_task included),
    # records each new task in the innermost open scope, from any thread (a
    # system test's server thread too). A process forked from this one keeps
    # its own copy: tasks it creates are not seen here. With no scope open,
    # recording costs one check.
    class Tracker
      def initialize
        @lock = Mutex.new
        @scopes = []
      end

      def tracking?
        !@scopes.empty?
      end

      # Records a created task in the innermost scope (nothing when none is open).
      def record(task_id)
        return if @scopes.empty?

        @lock.synchronize { @scopes.last&.push(task_id) }
      end

      # Opens a scope; returns its depth, which #close takes.
      def open
        @lock.synchronize do
          @scopes << []
          @scopes.size
        end
      end

      # Closes the scope #open returned depth for (and any opened inside it
      # and left open); returns the ids recorded in them, oldest first.
      def close(depth)
        @lock.synchronize do
          closed = @scopes.slice!((depth - 1)..) || []
          closed.flatten.uniq
        end
      end

      # The ids recorded in the innermost scope so far.
      def current
        @lock.synchronize { (@scopes.last || []).dup }
      end
    end
  end
end
