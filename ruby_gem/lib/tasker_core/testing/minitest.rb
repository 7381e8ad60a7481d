# frozen_string_literal: true

require "minitest"
require "tasker_core"

module TaskerCore
  module Testing
    # Minitest wiring: include it in your test base class, after
    # require "rails/test_help" in a Rails app.
    #
    #   require "tasker_core/testing/minitest"
    #   class ActiveSupport::TestCase
    #     include TaskerCore::Testing::Minitest
    #   end
    #
    # Including it enables test mode (Testing.enable!); each test's tasks are
    # purged in after_teardown, after the fixtures' transaction has rolled
    # back, and a purge that fails fails the test. Tasks created outside
    # tests are purged when the run ends. Tests get handle_one_step and
    # run_task_to_completion.
    module Minitest
      include Testing

      def self.included(base)
        super
        Testing.enable!
        return if @after_run

        @after_run = true
        ::Minitest.after_run { Testing.finish! }
      end

      def before_setup
        @tasker_core_isolation = Testing.begin_isolation
        super
      end

      def after_teardown
        super
      ensure
        Testing.end_isolation(@tasker_core_isolation) if @tasker_core_isolation
      end
    end
  end
end
