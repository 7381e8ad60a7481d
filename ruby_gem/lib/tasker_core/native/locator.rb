# frozen_string_literal: true

module TaskerCore
  module Native
    # Finds libtasker_core: ENV["TASKER_CORE_LIB"], else the copy `gem install`
    # built beside the gem's Ruby files, else build/ of a repository checkout.
    module Locator
      FILE_NAME = "libtasker_core.so"
      REBUILD = "make lib (in a checkout) or gem pristine tasker_core (installed gem)"

      module_function

      def candidates
        [
          ENV.fetch("TASKER_CORE_LIB", nil),
          File.expand_path("../#{FILE_NAME}", __dir__),
          File.expand_path("../../../../build/#{FILE_NAME}", __dir__)
        ].compact.reject(&:empty?)
      end

      # Returns the first candidate that exists; raises LibraryNotFoundError
      # listing every place it looked.
      def path
        explicit = ENV.fetch("TASKER_CORE_LIB", nil)
        if explicit && !explicit.empty?
          return explicit if File.file?(explicit)

          raise LibraryNotFoundError, "TASKER_CORE_LIB=#{explicit} does not exist; unset it or point it at a built #{FILE_NAME}"
        end
        found = candidates.find { |c| File.file?(c) }
        return found if found

        raise LibraryNotFoundError,
              "#{FILE_NAME} not found; looked in: #{candidates.join(', ')}. Build it with #{REBUILD}, " \
              "or set TASKER_CORE_LIB to its path"
      end
    end
  end
end
