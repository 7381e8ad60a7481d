# frozen_string_literal: true

module TaskerCore
  module Native
    # A handle kept beyond one call. Read it with #json / #int64 and free it
    # with #free; the FFI::AutoPointer is only the safety net that frees it
    # at GC if #free is forgotten.
    class Handle
      def self.release(pointer)
        Native.tasker_handle_free(pointer.address, nil) unless Native.poisoned?
      end

      def initialize(id)
        @pointer = FFI::AutoPointer.new(FFI::Pointer.new(id), self.class.method(:release))
      end

      def id
        @pointer.address
      end

      def json
        Native.handle_json(id)
      end

      def int64(field)
        Native.handle_int64(id, field)
      end

      # Frees the handle now and disarms the GC finalizer.
      def free
        @pointer.autorelease = false
        Native.handle_free(id)
      end
    end
  end
end
