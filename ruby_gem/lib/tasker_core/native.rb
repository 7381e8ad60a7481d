# frozen_string_literal: true

require "json"
require_relative "native/locator"
require_relative "native/library"
require_relative "native/call"
require_relative "native/process_calls"

module TaskerCore
  # The raw layer over libtasker_core.so, in four files with one job each:
  #
  # - this file: the lifecycle. Nothing is loaded at require time: the first
  #   call dlopens the library behind a mutex, checks its ABI version,
  #   re-adds SA_ONSTACK to the signal handlers and runs tasker_init with
  #   TaskerCore.config (DESIGN Rule 3); a forked child of a process that
  #   had loaded it is refused (ForkError).
  # - native/library.rb: finding and dlopening the file, the ABI check and
  #   every attach_function.
  # - native/call.rb: the one path (#call, #check!) that turns a status code
  #   and error JSON into a TaskerCore::Error, and reading/freeing handles
  #   and strings.
  # - native/process_calls.rb: process-wide calls (ping, stats, version,
  #   live handles, goroutine dump).
  module Native
    @lock = Mutex.new
    @loaded_pid = nil
    @library_path = nil
    @load_error = nil
    @ready = false
    @poisoned = false

    class << self
      attr_reader :library_path, :loaded_pid

      # True once this process has dlopened the library (and not poisoned by fork).
      def loaded?
        !@loaded_pid.nil? && !@poisoned
      end

      def ready?
        @ready && !@poisoned
      end

      # Called by ForkGuard in a forked child: if any ancestor had the Go
      # runtime mapped, this process can never use it.
      def poison!
        @poisoned = true if @loaded_pid || @poisoned
      end

      def poisoned?
        @poisoned
      end

      # Loads and initializes the library once per process. Blocks on the
      # database (tasker_init). Raises ForkError, LibraryNotFoundError,
      # AbiMismatchError or the tasker_init error (the next call retries it).
      def ensure_ready!
        check_fork!
        return true if @ready

        @lock.synchronize do
          check_fork!
          unless @ready
            load! unless @loaded_pid
            raise @load_error if @load_error

            init!
            @ready = true
          end
        end
        true
      end

      # Loads the library without tasker_init (used by abi/version checks).
      def ensure_loaded!
        check_fork!
        @lock.synchronize { load! unless @loaded_pid } unless @loaded_pid
        raise @load_error if @load_error

        true
      end

      # Closes the pool; the next call runs tasker_init again with the
      # current TaskerCore.config. Blocks up to timeout_ms.
      def shutdown(timeout_ms: 5_000)
        @lock.synchronize do
          return false unless @ready && !@poisoned

          err = FFI::MemoryPointer.new(:pointer)
          rc = tasker_shutdown(timeout_ms, err)
          @ready = false
          check!(rc, err, :tasker_shutdown)
          true
        end
      end

      private

      def check_fork!
        return unless @poisoned

        raise ForkError,
              "tasker_core's native library was loaded in an ancestor of this process (pid #{@loaded_pid}) " \
              "before it forked pid #{Process.pid}; the Go runtime cannot run in a forked child (calls would hang). " \
              "Load tasker_core after fork: in Puma use on_worker_boot / don't call it in the master; " \
              "set preload_app! without touching TaskerCore (defining handlers is fine, calling the engine is not); " \
              "in Unicorn use after_fork; run Resque with FORK_PER_JOB=false"
      end

      def init!
        err = FFI::MemoryPointer.new(:pointer)
        rc = tasker_init(JSON.generate(TaskerCore.config.engine_config), err)
        check!(rc, err, :tasker_init)
      end
    end
  end
end
