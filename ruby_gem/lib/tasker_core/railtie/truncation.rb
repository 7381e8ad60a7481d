# frozen_string_literal: true

module TaskerCore
  class Railtie < Rails::Railtie
    # Prepended to ActiveRecord's connection adapters: Rails empties every
    # table but its own two when it reuses a test database (parallel tests)
    # and on db:seed:replant. The engine's reference tables (its applied
    # migrations, the legal state transitions) are the schema, not data, so
    # they are kept; its tasks and steps are emptied like the app's rows.
    module Truncation
      def truncate_tables(*table_names)
        super(*(table_names - EngineSchema::REFERENCE_TABLES))
      end
    end
  end
end
