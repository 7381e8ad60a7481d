# frozen_string_literal: true

module TaskerCore
  module Native
    # Process-wide calls: a database ping, and diagnostics that need the
    # library loaded but no database (they work before tasker_init).
    class << self
      # One round trip to the database, waiting sleep_ms there (pg_sleep).
      # Blocks with the GVL released. Raises NotInitializedError,
      # ValidationError (sleep_ms outside 0..60000, bad timeout_ms),
      # TimeoutError or DatabaseError.
      def ping(sleep_ms, timeout_ms)
        ensure_ready!
        err = FFI::MemoryPointer.new(:pointer)
        check!(tasker_ping(sleep_ms, timeout_ms, err), err, :tasker_ping)
        true
      end

      # The library's own metrics (Go heap, goroutines, pool connections) as
      # a Hash; Ruby's GC cannot see Go's heap. No database.
      def stats
        ensure_loaded!
        out = FFI::MemoryPointer.new(:uint64)
        err = FFI::MemoryPointer.new(:pointer)
        check!(tasker_stats(out, err), err, :tasker_stats)
        handle = out.read_uint64
        begin
          handle_json(handle)
        ensure
          handle_free(handle)
        end
      end

      # Number of live handles in the library (a leak check for tests).
      def live_handles
        ensure_loaded!
        tasker_live_handles
      end

      def abi_version
        ensure_loaded!
        tasker_abi_version
      end

      # Every goroutine's stack, for debugging a hang.
      def goroutine_dump
        ensure_loaded!
        read_out_string(:tasker_goroutine_dump)
      end

      def version_info
        ensure_loaded!
        JSON.parse(read_out_string(:tasker_version))
      end
    end
  end
end
