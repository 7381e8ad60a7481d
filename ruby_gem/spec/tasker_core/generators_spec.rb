# frozen_string_literal: true

require "tmpdir"
require_relative "../support/rails_app"

# Real Rails 6.1 apps in a tmpdir, driven through bin/rails as a team would:
# the generators' output, db:migrate, the dumped schema, schema loads on fresh
# databases, and a task of the generated template run by the real engine.
RSpec.describe "Rails generators and schema tasks" do
  # Starts a task of the generated template and runs it to the end; prints
  # the task's status and each step's results.
  let(:run_task) { <<~RUBY }
    Rails.application.eager_load!
    handler = TaskerCore::OrchestrationManager.instance.handler_for("fulfillment", "process_order", "1.0.0")
    task = handler.initialize_task(context: { "order_id" => rand(1_000_000) })
    status = TaskerCore::Testing.run_task_to_completion(task.task_id)
    puts "status=\#{status.status} " + %w[validate charge ship].map { |s| "\#{s}=\#{status.step(s).results.to_json}" }.join(" ")
    puts "database=\#{TaskerCore.config.database_url}"
  RUBY

  def add_orders_migration(app)
    File.write(File.join(app.root, "db/migrate/20200101000000_create_orders.rb"), <<~RUBY)
      class CreateOrders < ActiveRecord::Migration[6.1]
        def change
          create_table(:orders) { |t| t.string :email }
        end
      end
    RUBY
  end

  def expect_engine_schema(app, env)
    expect(app.sql(env, "SELECT max(version) FROM tasker_schema_migrations").strip)
      .to eq(TaskerCore::EngineSchema::VERSION.to_s), "engine schema in #{env}"
    expect(Integer(app.sql(env, "SELECT count(*) FROM tasker_transition_rules"))).to be > 0
  end

  def expect_task_completes(app, env)
    out = app.runner!(run_task, env: { "RAILS_ENV" => env })
    done = '{"done":true}'
    expect(out).to include("status=complete validate=#{done} charge=#{done} ship=#{done}")
    expect(out[/^database=(.*)$/, 1]).to end_with("/#{app.databases.fetch(env)}")
  end

  it "installs with schema.rb: db:migrate sets everything up, the dump leaves the engine out, schema loads put it back" do
    Dir.mktmpdir do |dir|
      app = RailsApp.new(dir)
      out = app.rails!("generate", "tasker_core:install")
      expect(out).to include("create  config/initializers/tasker_core.rb", "create  config/tasker.yml",
                             "tasker_core_schema_v#{TaskerCore::EngineSchema::VERSION}.rb")
      again = app.rails!("generate", "tasker_core:install")
      expect(again.scan(/identical/).size).to eq(4), again
      expect(Dir[File.join(dir, "db/migrate/*tasker_core*")].size).to eq(1)

      app.rails!("generate", "tasker_core:template", "process_order", "--namespace", "fulfillment",
                 "--steps", "validate", "charge", "ship")
      app.rails!("generate", "tasker_core:handler", "billing/charge_card")
      add_orders_migration(app)

      app.rails!("db:create")
      out = app.rails!("db:migrate")
      expect(out).to include("tasker_core schema at version #{TaskerCore::EngineSchema::VERSION}")
      schema = app.read("db/schema.rb")
      expect(schema).to include('create_table "orders"')
      expect(schema).not_to include("tasker_")
      expect_engine_schema(app, "development")

      # The test database, from schema.rb, in a development process.
      app.rails!("db:test:prepare")
      expect_engine_schema(app, "test")
      expect_task_completes(app, "test")

      # The generated specs of the generated handlers pass.
      File.write(File.join(dir, "spec/rails_helper.rb"), "ENV[\"RAILS_ENV\"] ||= \"test\"\nrequire_relative \"../config/environment\"\n")
      out, status = app.run([RbConfig.ruby, "-S", "rspec", "spec"], env: { "RAILS_ENV" => "test" })
      expect(status).to be_success, out
      expect(out).to include("4 examples, 0 failures")

      # A fresh development database from schema.rb, twice over.
      app.rails!("db:drop", "db:create", "db:schema:load")
      expect_engine_schema(app, "development")
      expect_task_completes(app, "development")
      app.rails!("db:drop", "db:prepare")
      expect_engine_schema(app, "development")
      expect(app.sql("development", "SELECT count(*) FROM tasker_tasks").strip).to eq("0")

      # Loading again over the engine's tables, and emptying the app's tables,
      # keep the engine working.
      app.rails!("db:schema:load")
      expect_task_completes(app, "development")
      app.rails!("db:seed:replant")
      expect(app.sql("development", "SELECT count(*) FROM tasker_tasks").strip).to eq("0")
      expect_engine_schema(app, "development")
      expect_task_completes(app, "development")
    ensure
      app&.drop_databases!
    end
  end

  it "installs with structure.sql: the dump has none of the engine's tables or functions, db:prepare and db:test:prepare apply it" do
    Dir.mktmpdir do |dir|
      app = RailsApp.new(dir, schema_format: :sql)
      app.rails!("generate", "tasker_core:install")
      app.rails!("generate", "tasker_core:template", "process_order", "--namespace", "fulfillment",
                 "--steps", "validate", "charge", "ship")
      add_orders_migration(app)
      app.rails!("db:create", "db:migrate")
      structure = app.read("db/structure.sql")
      expect(structure).to include("CREATE TABLE public.orders")
      (TaskerCore::EngineSchema::RELATIONS + TaskerCore::EngineSchema::FUNCTIONS).each do |name|
        expect(structure).not_to include(name)
      end
      expect_engine_schema(app, "development")

      app.rails!("db:drop", "db:prepare")
      expect_engine_schema(app, "development")
      app.rails!("db:test:prepare")
      expect_engine_schema(app, "test")
      expect_task_completes(app, "test")
    ensure
      app&.drop_databases!
    end
  end

  it "refuses template and handler names that cannot be Ruby classes, naming the option" do
    Dir.mktmpdir do |dir|
      app = RailsApp.new(dir)
      expect(app.rails("generate", "tasker_core:template", "process_order").first).to include("give the steps, in order: --steps")
      out, = app.rails("generate", "tasker_core:template", "process_order", "--steps", "a", "Bad-Step")
      expect(out).to include('step "Bad-Step" must be snake_case')
      out, = app.rails("generate", "tasker_core:template", "process_order", "--steps", "a", "a")
      expect(out).to include("step names must be unique; repeated: a")
      expect(Dir.exist?(File.join(dir, "app"))).to be(false)
      expect(Dir.exist?(File.join(dir, "config/tasker"))).to be(false)
    end
  end

  it "chains the template's steps unless --no-chain" do
    Dir.mktmpdir do |dir|
      app = RailsApp.new(dir)
      app.rails!("generate", "tasker_core:template", "fan_out", "--namespace", "reports", "--steps", "a", "b", "--no-chain", "--no-spec")
      doc = YAML.safe_load(app.read("config/tasker/templates/reports/fan_out.yaml"))
      expect(doc["step_templates"]).to eq([
        { "name" => "a", "handler_class" => "Reports::FanOut::AHandler" },
        { "name" => "b", "handler_class" => "Reports::FanOut::BHandler" }
      ])
      expect(Dir.exist?(File.join(dir, "spec"))).to be(false)
      expect(File.read(File.join(dir, "app/step_handlers/reports/fan_out/b_handler.rb"))).to include("class BHandler")
    end
  end
end
