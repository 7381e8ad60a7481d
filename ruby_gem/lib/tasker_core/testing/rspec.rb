# frozen_string_literal: true

require "tasker_core"

module TaskerCore
  module Testing
    # RSpec wiring, installed by requiring this file from spec_helper.rb or
    # rails_helper.rb (before the first engine call):
    #
    #   require "tasker_core/testing/rspec"
    #
    # Test mode (Testing.enable!), then each example runs inside
    # Testing.isolate: the tasks it creates are purged after it, outside
    # rspec-rails' transactional fixtures (config hooks wrap group hooks, so
    # the fixture's transaction has rolled back by then). Tasks created
    # outside examples are purged after the suite. Examples get
    # handle_one_step and run_task_to_completion.
    module RSpec
      def self.install(config = ::RSpec.configuration)
        return if @installed

        @installed = true
        Testing.enable!
        config.include Testing
        config.around(:each) { |example| Testing.isolate { example.run } }
        config.after(:suite) { Testing.finish! }
      end
    end
  end
end

TaskerCore::Testing::RSpec.install
