# frozen_string_literal: true

module TaskerCore
  class Worker
    # The steps a worker's threads have claimed but not started yet (the
    # rest of each claimed batch). A thread #take s a step just before
    # running it; #close! (Worker#stop) takes every step still waiting so
    # the worker can give them back at once. Both run under one mutex, so a
    # step is either run or released, never both.
    class Backlog
      def initialize
        @lock = Mutex.new
        @steps = {}
        @closed = false
      end

      # Adds a freshly claimed batch. Returns false, adding nothing, once
      # closed: the caller then releases the batch itself.
      def add(steps)
        @lock.synchronize do
          return false if @closed

          steps.each { |s| @steps[s.workflow_step_id] = s }
          true
        end
      end

      # True when the step was still waiting and now belongs to the caller
      # to run; false when #close! took it.
      def take(step)
        @lock.synchronize { !@steps.delete(step.workflow_step_id).nil? }
      end

      # Closes the backlog and returns (removing) every step not yet taken.
      def close!
        @lock.synchronize do
          @closed = true
          @steps.values.tap { @steps.clear }
        end
      end

      def step_ids
        @lock.synchronize { @steps.keys }
      end
    end
  end
end
