# frozen_string_literal: true

module TaskerCore
  module Testing
    # The engine writes on connections of its own, so an app's transactional
    # fixtures never see, nor roll back, its tasks. Isolation is therefore
    # by bookkeeping: every task created during an example is recorded
    # (Tracker) and purged through the engine after it, with its steps,
    # transitions and results, in one transaction on the engine's
    # connections. Tasks created outside examples (before(:all), at load)
    # are purged when the suite finishes. tasker_core/testing/rspec and
    # tasker_core/testing/minitest wire this in; these are the parts.

    # The lock_timeout_ms enable! gives the engine's sessions.
    DEFAULT_LOCK_TIMEOUT_MS = 3_000

    @tracker = Tracker.new
    @held_wait = 5.0
    @suite_scope = nil

    class << self
      attr_reader :tracker

      # Seconds the purge after an example waits for a worker to finish the
      # example's steps it still holds, before it purges them anyway and
      # fails the example (5).
      attr_accessor :held_wait

      # Test mode, once per process (idempotent): engine calls give up on a
      # lock held by another transaction after DEFAULT_LOCK_TIMEOUT_MS
      # (LockTimeoutError) unless lock_timeout_ms is configured, and tasks
      # created from now on outside any example are recorded for #finish!.
      # Does not load the library; if the engine already runs (something
      # called it first), it is shut down so that its next call starts it
      # again with the lock timeout (blocks briefly; do not call this while
      # a worker runs). Returns self.
      def enable!
        # PgBouncer refuses lock_timeout as a startup parameter: behind it
        # the engine waits for locks as it does outside tests.
        if TaskerCore.config.lock_timeout_ms.nil? && !TaskerCore.config.resolved_pgbouncer
          TaskerCore.config.lock_timeout_ms = DEFAULT_LOCK_TIMEOUT_MS
          TaskerCore.shutdown if Native.ready?
        end
        @suite_scope ||= tracker.open
        self
      end

      # Purges the tasks recorded outside examples since enable! (the suite
      # is over). Blocks; raises as #end_isolation.
      def finish!
        return unless @suite_scope

        depth = @suite_scope
        @suite_scope = nil
        end_isolation(depth)
      end

      # Runs the block and purges every task created while it ran (by any
      # thread of this process), even when it raises. Returns the block's
      # value. Raises as #end_isolation, unless the block raised: then its
      # exception wins and a failed purge is logged.
      def isolate
        depth = begin_isolation
        completed = false
        value = yield
        completed = true
        value
      ensure
        begin
          end_isolation(depth)
        rescue Error => e
          raise if completed

          TaskerCore.logger.error("tasker_core: TaskerCore::Testing could not purge the example's tasks: #{e.message}")
        end
      end

      # Starts recording created tasks; returns the scope for #end_isolation.
      def begin_isolation
        tracker.open
      end

      # Stops recording and purges the tasks recorded since begin_isolation
      # returned scope (nothing, and no library load, when there are none).
      # Blocks. Tasks an example purged itself are skipped. Steps a worker
      # still holds are waited for up to #held_wait seconds; then they are
      # purged anyway and ConflictError says which, so the next run starts
      # clean and the example that left a worker running fails. Raises
      # LockTimeoutError when a transaction still locks tasker_* tables.
      def end_isolation(scope)
        tracker.close(scope).each_slice(Types::FFIInputs::MAX_PURGE_TASK_IDS) { |ids| purge_created(ids) }
        nil
      end

      # The ids of the tasks created in the innermost isolation so far.
      def created_task_ids
        tracker.current
      end

      # Deletes every task of the engine's database, with their steps,
      # transitions and results; templates stay registered. For suites that
      # own their database (not parallel processes sharing one: their tasks
      # go too). Blocks. Raises ConflictError while a worker holds a step,
      # unless force. Returns {"purged_tasks" =>, "purged_steps" =>, ...}.
      #
      #   RSpec.configure { |c| c.before(:suite) { TaskerCore::Testing.reset! } }
      def reset!(force: false)
        Engine.purge_all_tasks(force: force)
      end

      private

      def purge_created(ids)
        deadline = monotonic + held_wait
        begin
          Engine.purge_tasks(task_ids: ids, skip_missing: true)
        rescue ConflictError => e
          raise unless e.details["held"]

          if monotonic < deadline
            sleep 0.05
            retry
          end
          Engine.purge_tasks(task_ids: ids, skip_missing: true, force: true)
          raise ConflictError.new(held_message(e.details), details: e.details)
        end
      end

      def held_message(details)
        held = details["held"].map do |h|
          "task #{h['task_id']} step #{h['step_name'].inspect} claimed by #{h['claimed_by'].inspect}"
        end
        count = details["held_count"]
        "TaskerCore::Testing: #{count} #{count == 1 ? 'step' : 'steps'} of tasks this example created still held by " \
          "a worker after #{held_wait}s (#{held.join('; ')}); the tasks were purged anyway, so the next run starts " \
          "clean. Stop every worker an example starts (worker.stop) and wait for its tasks before the example ends"
      end

      def monotonic
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
    end
  end
end
