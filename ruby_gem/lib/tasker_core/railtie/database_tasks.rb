# frozen_string_literal: true

module TaskerCore
  class Railtie < Rails::Railtie
    # Prepended to ActiveRecord::Tasks::DatabaseTasks, where every rake db:*
    # task (and Rails' parallel test setup) loads and dumps schemas.
    module DatabaseTasks
      # Loading schema.rb or structure.sql recreates the app's tables and
      # marks every migration in db/migrate as run, the one that applied the
      # engine's schema included, so the engine's migrations are applied here.
      def load_schema(db_config, *args, **kwargs)
        result = super
        Railtie.migrate_engine(db_config) if Railtie.engine_database?(db_config)
        result
      end

      # Even when the app replaced ignore_tables after boot.
      def dump_schema(*args, **kwargs)
        ActiveRecord::SchemaDumper.ignore_tables |= EngineSchema::RELATIONS
        super
      end

      def structure_dump(configuration, *args, **kwargs)
        result = super
        StructureFilter.strip_file!(args.first) if args.first.is_a?(String) && File.file?(args.first)
        result
      end
    end
  end
end
