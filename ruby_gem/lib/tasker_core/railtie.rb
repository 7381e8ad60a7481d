# frozen_string_literal: true

module TaskerCore
  # Loaded only when Rails is. Takes the database URL from the app's
  # environment (DATABASE_URL, else config/database.yml for Rails.env) unless
  # TaskerCore.configure set one, uses Rails.logger, and adds the rake tasks
  # tasker_core:migrate and tasker_core:worker. It never loads the native
  # library: that happens on first use, after any fork.
  #
  # With Active Record, the engine's schema lives in the app's primary
  # database beside the app's own, but stays the engine's (EngineSchema):
  # schema.rb and structure.sql leave it out, every schema load into the
  # primary database (db:schema:load, db:prepare, db:setup, db:test:prepare,
  # parallel test databases) ends by applying the engine's migrations, and
  # truncating the app's tables keeps the engine's reference tables.
  # config.tasker_core.manage_schema = false stops the schema loads doing
  # that, for an app that keeps the engine in another database.
  class Railtie < Rails::Railtie
    config.tasker_core = ActiveSupport::OrderedOptions.new
    config.tasker_core.manage_schema = true

    config.before_initialize do
      TaskerCore.config.logger = Rails.logger if Rails.logger && !TaskerCore.config.logger_configured?
    end

    initializer "tasker_core.database_url" do |app|
      next if TaskerCore.config.database_url

      TaskerCore.config.database_url = TaskerCore::Railtie.database_url(app)
    end

    # Each step runs inside the app's executor, as a request does: Active
    # Record connections go back to the pool, the query cache and
    # CurrentAttributes are reset. In development the reloader, so changed
    # code is picked up between steps.
    config.after_initialize do |app|
      TaskerCore.config.step_wrapper ||= app.config.cache_classes ? app.executor : app.reloader
    end

    # Step handler classes are looked up on first use; after a reload
    # (development) they are looked up again.
    config.to_prepare do
      TaskerCore::OrchestrationManager.instance.reset_step_handlers!
    end

    initializer "tasker_core.active_record" do
      next unless defined?(ActiveRecord::Railtie)

      ActiveRecord::Tasks::DatabaseTasks.singleton_class.prepend(Railtie::DatabaseTasks)
      ActiveSupport.on_load(:active_record) do
        ActiveRecord::SchemaDumper.ignore_tables |= TaskerCore::EngineSchema::RELATIONS
        ActiveRecord::ConnectionAdapters::AbstractAdapter.prepend(TaskerCore::Railtie::Truncation)
      end
    end

    rake_tasks do
      load File.expand_path("tasks/tasker_core.rake", __dir__)
    end

    # Applies the engine's migrations to the database of db_config (an
    # ActiveRecord::DatabaseConfigurations::DatabaseConfig): what the
    # generated migration and the schema loads call. Blocks.
    def self.migrate_engine(db_config)
      EngineSchema.migrate(database_url: DatabaseURL.from_config(db_config.configuration_hash))
    end

    # True for the database the engine lives in: the primary one of its
    # environment, unless config.tasker_core.manage_schema is false.
    def self.engine_database?(db_config)
      Rails.application.config.tasker_core.manage_schema && db_config.name == "primary"
    end

    # DATABASE_URL, else the primary database of config/database.yml as a URL
    # (DatabaseURL: escaped, sockets and sslmode kept).
    def self.database_url(app)
      return ENV["DATABASE_URL"] if ENV["DATABASE_URL"] && !ENV["DATABASE_URL"].empty?

      db = app.config.database_configuration[Rails.env.to_s] rescue nil # rubocop:disable Style/RescueModifier
      db = db["primary"] if db.is_a?(Hash) && db["primary"].is_a?(Hash)
      return nil unless db.is_a?(Hash)
      DatabaseURL.from_config(db)
    end
  end
end

require_relative "railtie/database_tasks"
require_relative "railtie/truncation"
