# frozen_string_literal: true

module TaskerCore
  module Execution
    # The results of the step's ancestors, by step name.
    class Sequence
      attr_reader :dependency_results

      def initialize(dependency_results)
        @dependency_results = dependency_results || {}
        freeze
      end

      # The results of ancestor step +name+; raises NotFoundError naming the
      # ancestors when +name+ is not one of them.
      def result_of(name)
        @dependency_results.fetch(name.to_s) do
          raise NotFoundError, "no results for step #{name.to_s.inspect}: it is not an ancestor of this step " \
                               "(ancestors: #{@dependency_results.keys.sort.join(', ')})"
        end
      end

      def step_names
        @dependency_results.keys
      end
    end
  end
end
