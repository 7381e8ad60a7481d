# frozen_string_literal: true

require "rails/generators"
require "rails/generators/active_record/migration"
require "tasker_core"

module TaskerCore
  module Generators
    # rails generate tasker_core:install
    #
    # Writes config/initializers/tasker_core.rb (settings from
    # config/tasker.yml, every template under config/tasker/templates
    # registered at boot), config/tasker.yml and a migration that applies the
    # engine's schema. Running it again changes nothing that is identical;
    # after a gem upgrade whose engine schema moved on it adds the next
    # migration (its name carries the engine's schema version).
    class InstallGenerator < Rails::Generators::Base
      include ActiveRecord::Generators::Migration

      source_root File.expand_path("templates", __dir__)
      desc "Adds tasker_core to this app: initializer, config/tasker.yml, the engine-schema migration"

      def create_initializer
        template "initializer.rb.tt", "config/initializers/tasker_core.rb"
      end

      def create_config
        template "tasker.yml.tt", "config/tasker.yml"
      end

      def create_templates_directory
        create_file "config/tasker/templates/.keep", ""
      end

      def create_schema_migration
        migration_template "migration.rb.tt", File.join(db_migrate_path, "#{migration_name}.rb")
      end

      def show_next_steps
        say <<~TEXT

          Next: rails db:migrate (applies the engine's schema; db/schema.rb leaves it out),
          then rails generate tasker_core:template NAME --namespace NS --steps a b c
          and run a worker with rails tasker_core:worker.
        TEXT
      end

      private

      def migration_name
        "tasker_core_schema_v#{EngineSchema::VERSION}"
      end

      def migration_class_name
        migration_name.camelize
      end

      def migration_version
        "[#{ActiveRecord::Migration.current_version}]"
      end
    end
  end
end
