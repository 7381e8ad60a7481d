# frozen_string_literal: true

module TaskerCore
  module Native
    # Exports taking (json, timeout_ms, out, err) that touch the database.
    JSON_CALLS = %i[tasker_template_register tasker_task_initialize tasker_step_claim tasker_step_claim_one
                    tasker_step_ancestor_results tasker_step_heartbeat tasker_step_complete tasker_step_fail
                    tasker_step_release tasker_step_resolve tasker_task_cancel tasker_task_retry
                    tasker_task_purge tasker_task_purge_all tasker_task_list tasker_operations_stats tasker_stuck_work
                    tasker_task_requests_list].freeze
    # Exports taking (an int64 id or limit, timeout_ms, out, err) that touch the database.
    ID_CALLS = %i[tasker_task_status tasker_task_execution_context tasker_step_readiness
                  tasker_dependency_levels tasker_task_request_get tasker_task_request_retry
                  tasker_task_requests_take_up tasker_task_transitions].freeze
    # Dispatcher exports that wait (on the database or for a step), by argument types.
    DISPATCHER_CALLS = {
      tasker_dispatcher_start: %i[string int64 pointer pointer],
      tasker_dispatcher_next: %i[uint64 int64 pointer pointer],
      tasker_dispatcher_complete: %i[uint64 string int64 pointer pointer],
      tasker_dispatcher_complete_next: %i[uint64 string int64 pointer pointer pointer pointer],
      tasker_dispatcher_fail: %i[uint64 string int64 pointer pointer],
      tasker_dispatcher_stop: %i[uint64 int64 pointer]
    }.freeze

    # Finding, dlopening and attaching the library: run once per process by
    # Native.ensure_loaded!/ensure_ready! under Native's lock. Exports that
    # wait on the database or the network are attached with blocking: true,
    # so the calling thread releases the GVL while it waits (bindings/ABI.md
    # "Blocking"); the CPU-only ones are attached without.
    class << self
      private

      def load!
        require "ffi"
        path = Locator.path
        extend FFI::Library
        ffi_lib path
        @loaded_pid = Process.pid
        @library_path = path
        attach_function :tasker_abi_version, [], :int
        check_abi!
        attach_all
        tasker_ensure_sigonstack
      rescue AbiMismatchError, FFI::NotFoundError => e
        @load_error = e.is_a?(AbiMismatchError) ? e : AbiError.new("#{path}: #{e.message}; rebuild it with #{Locator::REBUILD}")
        raise @load_error
      end

      def check_abi!
        found = tasker_abi_version
        return if found == ABI_VERSION

        raise AbiMismatchError.new(
          "#{@library_path} speaks ABI version #{found}, but tasker_core #{VERSION} needs ABI version " \
          "#{ABI_VERSION}; rebuild the library with #{Locator::REBUILD}",
          details: { "library" => @library_path, "library_abi" => found, "gem_abi" => ABI_VERSION }
        )
      end

      def attach_all
        attach_blocking
        attach_function :tasker_version, %i[pointer pointer], :int
        attach_function :tasker_live_handles, [], :int64
        attach_function :tasker_stats, %i[pointer pointer], :int
        attach_function :tasker_goroutine_dump, %i[pointer pointer], :int
        attach_function :tasker_ensure_sigonstack, [], :int
        attach_function :tasker_string_free, [:pointer], :void
        attach_function :tasker_handle_json, %i[uint64 pointer pointer pointer], :int
        attach_function :tasker_handle_int64, %i[uint64 string pointer pointer], :int
        attach_function :tasker_handle_kind, %i[uint64 pointer pointer], :int
        attach_function :tasker_handle_free, %i[uint64 pointer], :int
        attach_function :tasker_dispatcher_quiet, %i[uint64 pointer], :int
        attach_function :tasker_dispatcher_stats, %i[uint64 pointer pointer], :int
      end

      def attach_blocking
        attach_function :tasker_init, %i[string pointer], :int, blocking: true
        attach_function :tasker_shutdown, %i[int64 pointer], :int, blocking: true
        attach_function :tasker_ping, %i[int64 int64 pointer], :int, blocking: true
        attach_function :tasker_migrate, %i[int64 pointer pointer], :int, blocking: true
        JSON_CALLS.each { |f| attach_function f, %i[string int64 pointer pointer], :int, blocking: true }
        ID_CALLS.each { |f| attach_function f, %i[int64 int64 pointer pointer], :int, blocking: true }
        DISPATCHER_CALLS.each { |f, args| attach_function f, args, :int, blocking: true }
      end
    end
  end
end
