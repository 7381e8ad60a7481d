# frozen_string_literal: true

require "tmpdir"

# A Rails 6.1 app in a tmpdir, with Active Record, transactional tests and a
# database of its own, whose test suites (RSpec with rspec-rails'
# use_transactional_fixtures, and Minitest) create tasks, run them, write
# app rows from a handler and truncate an engine table inside the fixture's
# transaction. Each suite runs twice against the same database: the second
# run would raise DuplicateTaskError if the first left its tasks behind.
TESTING_RAILS_APP = {
  "config/application.rb" => <<~RUBY,
    require "rails"
    require "active_record/railtie"
    require "tasker_core"
    class TestingApp < Rails::Application
      config.load_defaults 6.1
      config.root = File.expand_path("..", __dir__)
      config.eager_load = false
      config.cache_classes = true
      config.logger = Logger.new(nil)
      config.active_record.maintain_test_schema = false
    end
  RUBY
  "config/environment.rb" => <<~RUBY,
    require_relative "application"
    Rails.application.initialize!
  RUBY
  "config/database.yml" => <<~YAML,
    test:
      adapter: postgresql
  YAML
  # Templates are registered at boot, as an app does: registering does not
  # load the engine (that happens on its first call, after test mode is on).
  "config/initializers/tasker.rb" => <<~RUBY,
    CHECKOUT = TaskerCore::TaskHandler::Base.new(yaml: {
      "name" => "checkout", "namespace_name" => "rails_testing", "version" => "1.0.0", "identity_strategy" => "strict",
      "step_templates" => [{ "name" => "charge", "handler_class" => "Checkout::ChargeHandler" },
                           { "name" => "ship", "handler_class" => "Checkout::ShipHandler", "depends_on_steps" => ["charge"] }]
    }.to_yaml)
    NOTIFY = TaskerCore::TaskHandler::Base.new(yaml: {
      "name" => "notify", "namespace_name" => "rails_testing_notify", "version" => "1.0.0", "identity_strategy" => "strict",
      "step_templates" => [{ "name" => "send", "handler_class" => "Checkout::NotifyHandler" }]
    }.to_yaml)
  RUBY
  "app/models/order.rb" => <<~RUBY,
    class Order < ActiveRecord::Base
    end
  RUBY
  "app/handlers/checkout/charge_handler.rb" => <<~RUBY,
    module Checkout
      # Writes an app row: in the test thread (handle_one_step) it joins the fixture's transaction.
      class ChargeHandler < TaskerCore::StepHandler::Base
        def process(task, _sequence, _step)
          { "order_id" => Order.create!(number: task.context["order"]).id }
        end
      end
    end
  RUBY
  "app/handlers/checkout/ship_handler.rb" => <<~RUBY,
    module Checkout
      class ShipHandler < TaskerCore::StepHandler::Base
        def process(_task, sequence, _step) = { "shipped" => sequence.result_of("charge")["order_id"] }
      end
    end
  RUBY
  "app/handlers/checkout/notify_handler.rb" => <<~RUBY,
    module Checkout
      class NotifyHandler < TaskerCore::StepHandler::Base
        def process(task, _sequence, _step) = { "sent" => task.context["n"] }
      end
    end
  RUBY
  "db/setup.rb" => <<~RUBY,
    # The app's schema and the engine's (as `rake tasker_core:migrate` would), outside any test transaction.
    ActiveRecord::Base.connection.create_table(:orders, if_not_exists: true) { |t| t.integer :number }
    TaskerCore.migrate
  RUBY
  "spec/rails_helper.rb" => <<~RUBY,
    ENV["RAILS_ENV"] = "test"
    require_relative "../config/environment"
    require "rspec/rails"
    if ENV["WITHOUT_ISOLATION"]
      RSpec.configure { |c| c.include TaskerCore::Testing }
    else
      require "tasker_core/testing/rspec"
    end
    require_relative "../db/setup"
    RSpec.configure do |config|
      config.use_transactional_fixtures = true
    end
  RUBY
  "spec/checkout_spec.rb" => <<~RUBY,
    require "rails_helper"

    RSpec.describe "checkout" do
      # Outside any example: purged when the suite ends.
      before(:all) { NOTIFY.initialize_task(context: { "n" => "before_all" }) }

      it "runs a checkout to completion, writing an order in the fixture's transaction" do
        task = CHECKOUT.initialize_task(context: { "order" => 1 })
        expect(run_task_to_completion(task.task_id).status).to eq("complete")
        expect(Order.pluck(:number)).to eq([1])
      end

      it "creates the same checkout again: the previous example's task is gone, its order rolled back" do
        task = CHECKOUT.initialize_task(context: { "order" => 1 })
        expect(handle_one_step(task.step_mapping["charge"]).status).to eq("complete")
        expect(Order.pluck(:number)).to eq([1])
      end

      it "runs a task on a worker" do
        task = NOTIFY.initialize_task(context: { "n" => 1 })
        worker = TaskerCore::Worker.new(namespaces: ["rails_testing_notify"], threads: 1, poll_interval: 0.05).start
        deadline = Time.now + 30
        sleep 0.05 until TaskerCore::Engine.task_status(task.task_id).finished? || Time.now > deadline
        worker.stop(deadline: 5)
        expect(TaskerCore::Engine.task_status(task.task_id).step("send").results).to eq("sent" => 1)
      end

      it "locks an engine row through Active Record: the purge still runs, after the fixture's rollback" do
        task = CHECKOUT.initialize_task(context: { "order" => 3 })
        ActiveRecord::Base.connection.execute("SELECT 1 FROM tasker_tasks WHERE task_id = \#{task.task_id} FOR UPDATE")
      end

      it "fails fast, naming the cause, when the example truncates an engine table in its transaction", :lock do
        ActiveRecord::Base.connection.execute("TRUNCATE tasker_tasks CASCADE")
        expect { CHECKOUT.initialize_task(context: { "order" => 2 }) }
          .to raise_error(TaskerCore::LockTimeoutError, /"TRUNCATE tasker_tasks CASCADE".*inside a transactional fixture/m)
      end
    end
  RUBY
  "test/test_helper.rb" => <<~RUBY,
    ENV["RAILS_ENV"] = "test"
    require_relative "../config/environment"
    require "rails/test_help"
    require "tasker_core/testing/minitest"
    require_relative "../db/setup"
    class ActiveSupport::TestCase
      include TaskerCore::Testing::Minitest
    end
  RUBY
  "test/checkout_test.rb" => <<~RUBY
    require "test_helper"

    class CheckoutTest < ActiveSupport::TestCase
      test "runs a checkout to completion, writing an order in the fixture's transaction" do
        task = CHECKOUT.initialize_task(context: { "order" => 1 })
        assert_equal "complete", run_task_to_completion(task.task_id).status
        assert_equal [1], Order.pluck(:number)
      end

      test "creates the same checkout step by step" do
        task = CHECKOUT.initialize_task(context: { "order" => 1 })
        assert_equal "complete", handle_one_step(task.step_mapping["charge"]).status
        assert_equal [1], Order.pluck(:number)
      end

      test "runs a task on a worker" do
        task = NOTIFY.initialize_task(context: { "n" => 1 })
        worker = TaskerCore::Worker.new(namespaces: ["rails_testing_notify"], threads: 1, poll_interval: 0.05).start
        deadline = Time.now + 30
        sleep 0.05 until TaskerCore::Engine.task_status(task.task_id).finished? || Time.now > deadline
        worker.stop(deadline: 5)
        assert_equal({ "sent" => 1 }, TaskerCore::Engine.task_status(task.task_id).step("send").results)
      end

      test "locks an engine row through Active Record: the purge still runs, after the fixture's rollback" do
        task = CHECKOUT.initialize_task(context: { "order" => 3 })
        ActiveRecord::Base.connection.execute("SELECT 1 FROM tasker_tasks WHERE task_id = \#{task.task_id} FOR UPDATE")
      end

      test "fails fast, naming the cause, when the test truncates an engine table in its transaction" do
        ActiveRecord::Base.connection.execute("TRUNCATE tasker_tasks CASCADE")
        error = assert_raises(TaskerCore::LockTimeoutError) { CHECKOUT.initialize_task(context: { "order" => 2 }) }
        assert_match(/"TRUNCATE tasker_tasks CASCADE".*inside a transactional fixture/m, error.message)
      end
    end
  RUBY
}.freeze

RSpec.describe "TaskerCore::Testing in a Rails app" do
  around do |example|
    @db = "#{SpecDatabase.name}_rails"
    SpecDatabase.psql!(SpecDatabase.admin_url, "CREATE DATABASE #{@db}")
    Dir.mktmpdir do |dir|
      @dir = dir
      TESTING_RAILS_APP.each do |path, body|
        FileUtils.mkdir_p(File.join(dir, File.dirname(path)))
        File.write(File.join(dir, path), body)
      end
      example.run
    end
  ensure
    SpecDatabase.psql!(SpecDatabase.admin_url, "DROP DATABASE IF EXISTS #{@db} WITH (FORCE)")
  end

  def run_suite(script, env = {})
    Subprocess.ruby("Dir.chdir(#{@dir.inspect})\n#{script}", timeout: 180,
                                                            env: { "DATABASE_URL" => SpecDatabase.url(@db) }.merge(env))
  end

  def run_rspec(*args, env: {})
    run_suite(%(require "rspec/core"\nexit RSpec::Core::Runner.run(#{['--no-color', *args, 'spec'].inspect})), env)
  end

  # Rows of tasks, steps, edges and transitions left in the app's database,
  # and the templates (which stay registered).
  def engine_rows
    SpecDatabase.psql!(SpecDatabase.url(@db), <<~SQL).strip
      SELECT (SELECT count(*) FROM tasker_tasks) || ',' || (SELECT count(*) FROM tasker_workflow_steps) || ',' ||
             (SELECT count(*) FROM tasker_workflow_step_edges) || ',' || (SELECT count(*) FROM tasker_task_transitions) || ',' ||
             (SELECT count(*) FROM tasker_workflow_step_transitions) || ' templates=' || (SELECT count(*) FROM tasker_named_tasks) ||
             ' orders=' || (SELECT count(*) FROM orders)
    SQL
  end

  it "RSpec with use_transactional_fixtures: two runs against the same database pass and leave no task behind " \
     "(without TaskerCore::Testing it raises DuplicateTaskError)" do
    2.times do |run|
      out, status = run_rspec
      expect(status).to be_success, "run #{run + 1}:\n#{out}"
      expect(out).to include("5 examples, 0 failures")
      expect(engine_rows).to eq("0,0,0,0,0 templates=2 orders=0"), "after run #{run + 1}"
    end

    # The control: the same suite without TaskerCore::Testing (and without
    # the lock example, which would wait out the 30 s call timeout) fails:
    # the second example meets the first one's task.
    out, status = run_rspec("--tag", "~lock", env: { "WITHOUT_ISOLATION" => "1" })
    expect(status).not_to be_success
    expect(out).to include("4 examples, 1 failure", "TaskerCore::DuplicateTaskError")
  end

  it "Minitest with transactional tests: two runs against the same database pass and leave no task behind" do
    2.times do |run|
      out, status = run_suite(%($LOAD_PATH.unshift("test")\nrequire "test_helper"\nrequire "checkout_test"))
      expect(status).to be_success, "run #{run + 1}:\n#{out}"
      expect(out).to include("5 runs, ", " 0 failures, 0 errors")
      expect(engine_rows).to eq("0,0,0,0,0 templates=2 orders=0"), "after run #{run + 1}"
    end
  end
end
