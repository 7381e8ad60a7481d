# frozen_string_literal: true

module TaskerCore
  module Native
    # tasker_dispatcher_complete_next's outcome (bindings/libtasker_core.h):
    # the TASKER_OUTCOME_* slot indexes, and the TASKER_STEP_* /
    # TASKER_TASK_* codes as the status strings they stand for.
    OUTCOME_LEN = 7
    OUTCOME = { workflow_step_id: 0, task_id: 1, status: 2, attempts: 3, next_retry_at_ms: 4, task_status: 5,
                next: 6 }.freeze
    STEP_STATUSES = [nil, "pending", "in_progress", "waiting_for_retry", "complete", "error", "cancelled",
                     "resolved_manually"].freeze
    TASK_STATUSES = [nil, "pending", "in_progress", "complete", "error", "cancelled", "resolved_manually"].freeze
    NEXT_NONE = 0
    NEXT_STEP = 1
    NEXT_SHUTDOWN = 2

    # The one path from a status code and error JSON to a TaskerCore::Error
    # (#check!), and the reading and freeing of what the library returns:
    # handles (read as JSON or as a hot scalar) and malloc'd strings.
    class << self
      # Runs an export returning a handle, reads the handle's JSON, frees the
      # handle, and returns the parsed Hash. Blocks (GVL released) on the
      # database for exports in JSON_CALLS and ID_CALLS. freeze: true parses
      # with JSON's freeze: option (every Hash, Array and String frozen).
      def call(function, *args, freeze: false)
        handle = call_handle(function, *args)
        begin
          handle_json(handle, freeze: freeze)
        ensure
          handle_free(handle)
        end
      end

      # Runs an export returning a handle and returns the handle (an Integer)
      # for the caller to read and free (see Native::Handle for a kept one).
      def call_handle(function, *args)
        ensure_ready!
        with_scratch do |out, _len, err|
          rc = public_send(function, *args, out, err)
          check!(rc, err, function)
          out.read_uint64
        end
      end

      def handle_json(handle, freeze: false)
        text = with_scratch do |out, len, err|
          check!(tasker_handle_json(handle, out, len, err), err, :tasker_handle_json)
          take_string(out.read_pointer, len.read_int64)
        end
        JSON.parse(text, max_nesting: false, freeze: freeze)
      end

      # tasker_dispatcher_complete_next (bindings/ABI.md): records a
      # completion (blocks, GVL released) and, when take_next, takes the
      # step ready for this executor at once. Returns the TASKER_OUTCOME_*
      # slots (OUTCOME_LEN Integers) followed by that step's JSON (nil when
      # none was handed out).
      def complete_next(dispatcher, json, timeout_ms, take_next)
        ensure_ready!
        with_scratch do |out, len, err, outcome|
          rc = tasker_dispatcher_complete_next(dispatcher, json, timeout_ms, outcome, take_next ? out : nil, take_next ? len : nil, err)
          check!(rc, err, :tasker_dispatcher_complete_next)
          slots = outcome.get_array_of_int64(0, OUTCOME_LEN)
          slots << (take_next ? take_string(out.read_pointer, len.read_int64) : nil)
        end
      end

      def handle_int64(handle, field)
        out = FFI::MemoryPointer.new(:int64)
        err = FFI::MemoryPointer.new(:pointer)
        check!(tasker_handle_int64(handle, field.to_s, out, err), err, :tasker_handle_int64)
        out.read_int64
      end

      def handle_free(handle)
        with_scratch { |_out, _len, err| check!(tasker_handle_free(handle, err), err, :tasker_handle_free) }
        nil
      end

      # Raises the TaskerCore::Error for rc != 0, reading and freeing *err.
      def check!(rc, err_pointer, operation)
        return if rc.zero?

        raw = err_pointer && !err_pointer.null? ? take_string(err_pointer.read_pointer) : nil
        payload = raw && (JSON.parse(raw) rescue { "message" => raw }) # rubocop:disable Style/RescueModifier
        raise Error.from_status(rc, payload, operation: operation)
      end

      private

      SCRATCH = :__tasker_core_native_scratch

      # Yields this fiber's out-parameters (out, len, err: 8 bytes each;
      # outcome: OUTCOME_LEN int64 slots), out and err zeroed, instead of
      # allocating them per call; a nested call (a trap handler) finds none
      # checked in and allocates its own.
      def with_scratch
        scratch = Thread.current[SCRATCH]
        if scratch
          Thread.current[SCRATCH] = nil
        else
          scratch = [*Array.new(3) { FFI::MemoryPointer.new(:int64) }, FFI::MemoryPointer.new(:int64, OUTCOME_LEN)].freeze
        end
        scratch[0].put_pointer(0, nil)
        scratch[2].put_pointer(0, nil)
        yield(*scratch)
      ensure
        Thread.current[SCRATCH] = scratch
      end

      # Reads a library-allocated string (length-delimited when len is given)
      # as UTF-8 and frees it with tasker_string_free.
      def take_string(pointer, len = nil)
        return nil if pointer.null?

        begin
          (len ? pointer.read_string(len) : pointer.read_string).force_encoding(Encoding::UTF_8)
        ensure
          tasker_string_free(pointer)
        end
      end

      # For exports shaped (char** out, int64_t* len_out) with no err_out.
      def read_out_string(function)
        out = FFI::MemoryPointer.new(:pointer)
        len = FFI::MemoryPointer.new(:int64)
        rc = public_send(function, out, len)
        raise Error.from_status(rc, nil, operation: function) unless rc.zero?

        take_string(out.read_pointer, len.read_int64)
      end
    end
  end
end
