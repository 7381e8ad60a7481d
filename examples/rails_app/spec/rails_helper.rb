# frozen_string_literal: true

ENV["RAILS_ENV"] ||= "test"
require_relative "../config/environment"
require "rspec/rails"
# Each example's tasks are purged after it (the engine writes on its own
# connections, so the fixture's rollback does not undo them).
require "tasker_core/testing/rspec"

ActiveRecord::Migration.maintain_test_schema!

RSpec.configure do |config|
  config.use_transactional_fixtures = true
  config.infer_spec_type_from_file_location!
  config.disable_monkey_patching!
  config.order = :random
end
