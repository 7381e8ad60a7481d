# frozen_string_literal: true

module TaskerCore
  # What the engine's own migrations put in a database, and applying them to
  # a database of the caller's choosing. The engine keeps its schema apart
  # from an app's: it records its migrations in tasker_schema_migrations and
  # applies them itself (core/store/migration, embedded in the library), so
  # an app's db/schema.rb or structure.sql must not carry these objects; the
  # Railtie leaves them out of dumps and applies the engine's migrations
  # after a schema load instead.
  #
  # The lists below are checked against a freshly migrated database by
  # spec/tasker_core/engine_schema_spec.rb: a new engine migration that adds
  # a table, sequence or function fails that spec until it is listed here.
  module EngineSchema
    # The last engine migration this gem's library carries.
    VERSION = 9

    TABLES = %w[
      tasker_named_steps tasker_named_tasks tasker_named_tasks_named_steps tasker_schema_migrations
      tasker_stuck_work tasker_task_namespaces tasker_task_requests tasker_task_transitions tasker_tasks tasker_transition_rules
      tasker_workflow_step_edges tasker_workflow_step_transitions tasker_workflow_steps
    ].freeze

    # The tables' id sequences: pg_dump -T excludes a table but not these.
    SEQUENCES = %w[
      tasker_named_steps_named_step_id_seq tasker_named_tasks_named_steps_id_seq
      tasker_named_tasks_named_task_id_seq tasker_stuck_work_id_seq tasker_task_namespaces_task_namespace_id_seq tasker_task_requests_task_request_id_seq
      tasker_task_transitions_id_seq tasker_tasks_task_id_seq tasker_workflow_step_edges_id_seq
      tasker_workflow_step_transitions_id_seq tasker_workflow_steps_workflow_step_id_seq
    ].freeze

    # ActiveRecord::SchemaDumper.ignore_tables entries: schema.rb skips the
    # tables, and Rails passes each to pg_dump -T for structure.sql.
    RELATIONS = (TABLES + SEQUENCES).freeze

    FUNCTIONS = %w[
      calculate_dependency_levels get_step_readiness_status get_task_execution_context
      tasker_delete_step_transitions tasker_delete_task_transitions tasker_record_step_transitions_inserted
      tasker_record_step_transitions_updated tasker_record_task_transitions_inserted
      tasker_record_task_transitions_updated tasker_refuse_transition tasker_step_transition_metadata
      tasker_task_requests_notify tasker_truncate_transitions
    ].freeze

    # Tables whose rows are the schema itself (the applied versions, the
    # legal state transitions), written by migrations: emptying them breaks
    # the engine, so truncating an app's tables (parallel tests, db:seed:replant)
    # leaves them alone.
    REFERENCE_TABLES = %w[tasker_schema_migrations tasker_transition_rules].freeze

    # SQLSTATEs of a CREATE that finds its object already there.
    ALREADY_EXISTS = %w[42P07 42723 42710].freeze

    module_function

    # Applies the engine's migrations not yet applied (blocks; running it
    # again changes nothing). database_url nil or the configured database's
    # URL: through the engine as configured. Another URL (a Rails app loading
    # its schema into the test database from a development process): the
    # engine is shut down, initialized on that database for this call and
    # shut down again, so the next call connects to the configured database;
    # don't do that while a worker runs in this process. Returns
    # {"applied" => [...], "current_version" => n}; raises the engine's error,
    # explained when the database already has the engine's objects without
    # its version table.
    def migrate(database_url: nil)
      return explained { Engine.migrate } if database_url.nil? || database_url == TaskerCore.config.resolved_database_url

      on_database(database_url) { explained { Engine.migrate } }
    end

    def on_database(database_url)
      saved = TaskerCore.config.database_url
      TaskerCore.shutdown
      TaskerCore.config.database_url = database_url
      yield
    ensure
      TaskerCore.shutdown
      TaskerCore.config.database_url = saved
    end

    def explained
      yield
    rescue DatabaseError => e
      raise unless ALREADY_EXISTS.include?(e.details["sqlstate"])

      raise DatabaseError.new(
        "#{e.message}. The database has tasker_core's objects but not the record of its migrations " \
        "(tasker_schema_migrations): a db/schema.rb or db/structure.sql dumped with the engine's tables " \
        "in it was loaded. Recreate the database (rails db:drop db:create db:migrate) with this version " \
        "of the gem, which leaves the engine out of the dump; the next dump is then clean",
        code: e.code, details: e.details
      )
    end
  end
end
