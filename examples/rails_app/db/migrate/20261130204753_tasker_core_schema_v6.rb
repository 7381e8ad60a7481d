# frozen_string_literal: true

# Applies tasker_core's schema (its tasker_* tables and SQL functions) to this
# database, up to the engine's version 6 or later. The engine runs its own
# migrations on its own connection and records them in tasker_schema_migrations,
# so this is safe to run again, or after rails tasker_core:migrate. db/schema.rb
# leaves the engine out; db:schema:load, db:prepare and db:test:prepare apply
# it again (TaskerCore::Railtie).
class TaskerCoreSchemaV6 < ActiveRecord::Migration[6.1]
  def up
    result = TaskerCore::Railtie.migrate_engine(connection.pool.db_config)
    say "tasker_core schema at version #{result['current_version']}"
  end

  def down
    raise ActiveRecord::IrreversibleMigration,
          "tasker_core's schema has no down migration: drop its tasker_* tables and functions by hand " \
          "(TaskerCore::EngineSchema lists them) if you remove the gem"
  end
end
