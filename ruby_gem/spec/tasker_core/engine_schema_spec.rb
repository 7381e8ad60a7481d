# frozen_string_literal: true

require "tempfile"

# TaskerCore::EngineSchema and StructureFilter on databases of their own
# (created here, dropped after), beside the suite's.
RSpec.describe TaskerCore::EngineSchema do
  def scratch_database
    name = "tasker_schema_#{Process.pid}_#{SecureRandom.hex(3)}"
    SpecDatabase.psql!(SpecDatabase.admin_url, "CREATE DATABASE #{name}")
    yield SpecDatabase.url(name)
  ensure
    SpecDatabase.psql!(SpecDatabase.admin_url, "DROP DATABASE IF EXISTS #{name} WITH (FORCE)")
  end

  def names(url, sql)
    SpecDatabase.psql!(url, sql).split("\n").sort
  end

  let(:relations_sql) do
    "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " \
      "WHERE nspname = 'public' AND relkind IN ('r', 'S', 'v', 'm', 'p', 'f')"
  end
  let(:functions_sql) { "SELECT DISTINCT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE nspname = 'public'" }

  it "lists exactly what the engine's migrations create, applied to another database without losing the configured one" do
    scratch_database do |url|
      result = described_class.migrate(database_url: url)
      expect(result["current_version"]).to eq(described_class::VERSION),
                                            "the library's last migration is #{result['current_version']}: update EngineSchema::VERSION"
      expect(names(url, relations_sql)).to eq(described_class::RELATIONS.sort)
      expect(names(url, functions_sql)).to eq(described_class::FUNCTIONS.sort)
      seeded = described_class::TABLES.reject { |t| SpecDatabase.psql!(url, "SELECT count(*) FROM #{t}").strip == "0" }
      expect(seeded.sort).to eq(described_class::REFERENCE_TABLES.sort)

      expect(described_class.migrate(database_url: url)["applied"]).to eq([])
      expect(TaskerCore.config.database_url).to eq(SpecDatabase.url)
      namespace = "engine_schema_#{SecureRandom.hex(3)}"
      handler = TaskerCore::TaskHandler::Base.new(yaml: {
        "name" => "one", "namespace_name" => namespace, "version" => "1.0.0",
        "step_templates" => [{ "name" => "only", "handler_class" => "TaskerCore::StepHandler::Base" }]
      }.to_yaml)
      handler.register!
      expect(SpecDatabase.query("SELECT count(*) FROM tasker_task_namespaces WHERE name = '#{namespace}'").strip).to eq("1")
      expect(SpecDatabase.psql!(url, "SELECT count(*) FROM tasker_task_namespaces").strip).to eq("0")
    ensure
      TaskerCore::OrchestrationManager.instance.unregister(handler) if handler
    end
  end

  it "explains a database that has the engine's tables without their migration record" do
    scratch_database do |url|
      described_class.migrate(database_url: url)
      SpecDatabase.psql!(url, "DROP TABLE tasker_schema_migrations")
      expect { described_class.migrate(database_url: url) }.to raise_error(TaskerCore::DatabaseError) { |e|
        expect(e.message).to include('"tasker_task_namespaces" already exists', "a db/schema.rb or db/structure.sql dumped with the engine's tables")
        expect(e.details["sqlstate"]).to eq("42P07")
      }
    end
  end
end

RSpec.describe TaskerCore::StructureFilter do
  it "takes the engine's functions out of a pg_dump that left out its tables, so the dump loads and the engine migrates after it" do
    source = "tasker_dump_#{Process.pid}_#{SecureRandom.hex(3)}"
    target = "#{source}_load"
    [source, target].each { |db| SpecDatabase.psql!(SpecDatabase.admin_url, "CREATE DATABASE #{db}") }
    TaskerCore::EngineSchema.migrate(database_url: SpecDatabase.url(source))
    SpecDatabase.psql!(SpecDatabase.url(source), <<~SQL)
      COMMENT ON FUNCTION get_task_execution_context(bigint) IS 'the engine''s';
      CREATE TABLE orders (id bigserial PRIMARY KEY);
      CREATE FUNCTION app_total(a int) RETURNS int LANGUAGE sql AS $$ SELECT a $$;
      COMMENT ON FUNCTION app_total(int) IS 'the app''s';
    SQL
    excluded = TaskerCore::EngineSchema::RELATIONS.flat_map { |r| ["-T", r] }
    dump = IO.popen(["pg_dump", "--schema-only", "--no-owner", *excluded, SpecDatabase.url(source)], &:read)
    expect($?).to be_success

    kept, removed = described_class.strip(dump)
    expect(removed.sort).to eq(TaskerCore::EngineSchema::FUNCTIONS.sort)
    expect(kept).to include("CREATE FUNCTION public.app_total", "COMMENT ON FUNCTION public.app_total", "CREATE TABLE public.orders")
    (TaskerCore::EngineSchema::FUNCTIONS + TaskerCore::EngineSchema::RELATIONS).each { |name| expect(kept).not_to include(name) }
    expect(described_class.strip(kept)).to eq([kept, []])

    Tempfile.create(["structure", ".sql"]) do |f|
      f.write(kept)
      f.flush
      out = IO.popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", f.path, SpecDatabase.url(target)], err: %i[child out], &:read)
      expect($?).to be_success, out
    end
    expect(TaskerCore::EngineSchema.migrate(database_url: SpecDatabase.url(target))["current_version"])
      .to eq(TaskerCore::EngineSchema::VERSION)
  ensure
    [source, target].each { |db| SpecDatabase.psql!(SpecDatabase.admin_url, "DROP DATABASE IF EXISTS #{db} WITH (FORCE)") }
  end
end
