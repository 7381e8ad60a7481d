# frozen_string_literal: true

# Specs run against a real PostgreSQL: before the suite a fresh database
# tasker_rspec_<pid>_<rand> is created on the server of DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/postgres) and dropped afterwards. The
# library is build/libtasker_core.so unless TASKER_CORE_LIB says otherwise.
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "tasker_core"
require "securerandom"
require_relative "support/database"
require_relative "support/workflows"
require_relative "support/subprocess"

RSpec.configure do |config|
  config.disable_monkey_patching!
  config.order = :defined
  config.expect_with(:rspec) { |c| c.syntax = :expect }
  config.include TaskerCore::Testing

  config.before(:suite) do
    SpecDatabase.create!
    TaskerCore.configure do |c|
      c.database_url = SpecDatabase.url
      c.pool_size = 8
      c.backoff = { base_ms: 20, multiplier: 1.0, max_ms: 50, jitter_fraction: 0.0 }
      c.logger = Logger.new(File::NULL)
    end
    TaskerCore.migrate
  end

  config.after(:suite) do
    TaskerCore.shutdown if TaskerCore::Native.ready?
    SpecDatabase.drop!
  end
end
