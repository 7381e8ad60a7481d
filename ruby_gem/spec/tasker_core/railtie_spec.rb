# frozen_string_literal: true

require "tmpdir"

RSpec.describe "TaskerCore::Railtie" do
  it "takes the database from database.yml, adds the rake tasks, and does not load the library at boot" do
    Dir.mktmpdir do |dir|
      uri = URI.parse(SpecDatabase.url)
      FileUtils.mkdir_p(File.join(dir, "config"))
      File.write(File.join(dir, "config", "database.yml"), {
        "test" => { "adapter" => "postgresql", "host" => uri.host, "port" => uri.port,
                    "username" => uri.user, "database" => uri.path.delete_prefix("/") }
      }.to_yaml)
      out, status = Subprocess.ruby(<<~RUBY, env: { "DATABASE_URL" => nil })
        require "rails"
        require "tasker_core"
        TaskerCore.logger.debug("before boot") # the gem's $stderr default, not kept once Rails is up
        class SpecApp < Rails::Application
          config.root = #{dir.inspect}
          config.eager_load = false
          config.logger = Logger.new(nil)
        end
        Rails.env = "test"
        SpecApp.initialize!
        puts "url=\#{TaskerCore.config.database_url} loaded=\#{TaskerCore::Native.loaded?}"
        puts "rails_logger=\#{TaskerCore.logger.equal?(Rails.logger)}"
        SpecApp.load_tasks
        puts Rake::Task.tasks.map(&:name).grep(/tasker_core/).inspect
        Rake::Task["tasker_core:migrate"].invoke
      RUBY
      expect(status).to be_success, out
      expect(out).to include("url=postgres://#{uri.user}@#{uri.host}:#{uri.port}#{uri.path} loaded=false", "rails_logger=true",
                             '["tasker_core:migrate", "tasker_core:worker"]', "tasker_core schema at version")
    end
  end

  it "registers templates from an initializer before app/ is loadable, resolving handlers through Zeitwerk" do
    Dir.mktmpdir do |dir|
      FileUtils.mkdir_p(File.join(dir, "config", "initializers"))
      FileUtils.mkdir_p(File.join(dir, "app", "handlers", "onboarding"))
      File.write(File.join(dir, "app", "handlers", "onboarding", "create_account_handler.rb"), <<~HANDLER)
        module Onboarding
          class CreateAccountHandler < TaskerCore::StepHandler::Base
            def process(_task, _sequence, _step) = { "account" => 1 }
          end
        end
      HANDLER
      File.write(File.join(dir, "config", "initializers", "tasker.rb"), <<~INIT)
        TaskerCore::TaskHandler::Base.new(yaml: {
          "name" => "onboarding", "namespace_name" => "rails_spec", "version" => "1.0.0",
          "step_templates" => [{ "name" => "create_account", "handler_class" => "Onboarding::CreateAccountHandler" }]
        }.to_yaml)
      INIT
      out, status = Subprocess.ruby(<<~RUBY, env: { "DATABASE_URL" => SpecDatabase.url })
        require "rails"
        require "tasker_core"
        class SpecApp < Rails::Application
          config.load_defaults 6.1
          config.root = #{dir.inspect}
          config.eager_load = false
          config.logger = Logger.new(nil)
        end
        Rails.env = "test"
        SpecApp.initialize!
        puts "zeitwerk=\#{Rails.autoloaders.zeitwerk_enabled?} loaded_at_boot=\#{Object.const_defined?(:Onboarding, false)}"
        TaskerCore::OrchestrationManager.instance.validate_handlers!
        handler = TaskerCore::OrchestrationManager.instance.handler_for("rails_spec", "onboarding", "1.0.0")
        first = handler.get_step_handler_from_name("create_account")
        puts "resolved=\#{first.class} result=\#{first.process(nil, nil, nil)["account"]}"
        # Development: the code changes and the reloader runs; the next use
        # looks the class up again.
        path = #{File.join(dir, "app", "handlers", "onboarding", "create_account_handler.rb").inspect}
        File.write(path, File.read(path).sub('"account" => 1', '"account" => 2'))
        Rails.application.reloader.reload!
        again = handler.get_step_handler_from_name("create_account")
        puts "reloaded=\#{!again.equal?(first)} result=\#{again.process(nil, nil, nil)["account"]}"
      RUBY
      expect(status).to be_success, out
      expect(out).to include("zeitwerk=true", "resolved=Onboarding::CreateAccountHandler result=1",
                             "reloaded=true result=2")
    end
  end

  it "runs each step inside the app's executor: CurrentAttributes do not leak from one step to the next" do
    Dir.mktmpdir do |dir|
      out, status = Subprocess.ruby(<<~RUBY, timeout: 60, env: { "DATABASE_URL" => SpecDatabase.url })
        require "rails"
        require "tasker_core"
        class SpecApp < Rails::Application
          config.load_defaults 6.1
          config.root = #{dir.inspect}
          config.eager_load = false
          config.cache_classes = true
          config.logger = Logger.new(nil)
        end
        Rails.env = "test"
        SpecApp.initialize!
        class Current < ActiveSupport::CurrentAttributes
          attribute :user
        end
        $runs = 0
        Rails.application.executor.to_run { $runs += 1 }
        class LeakyHandler < TaskerCore::StepHandler::Base
          def process(_task, _sequence, _step)
            seen = Current.user
            Current.user = "left over"
            { "seen" => seen }
          end
        end
        handler = TaskerCore::TaskHandler::Base.new(yaml: {
          "name" => "leaky", "namespace_name" => "executor_spec", "version" => "1.0.0",
          "step_templates" => [{ "name" => "only", "handler_class" => "LeakyHandler" }]
        }.to_yaml)
        ids = Array.new(3) { |i| handler.initialize_task(context: { "i" => i, "run" => Process.pid }).task_id }
        worker = TaskerCore::Worker.new(namespaces: ["executor_spec"], threads: 1, poll_interval: 0.05).start
        deadline = Time.now + 30
        sleep 0.05 until ids.all? { |id| TaskerCore::Engine.task_status(id).status == "complete" } || Time.now > deadline
        worker.stop(deadline: 5)
        seen = ids.map { |id| TaskerCore::Engine.task_status(id).step("only").results["seen"].inspect }
        puts "wrapper=\#{TaskerCore.config.step_wrapper == Rails.application.executor} runs=\#{$runs >= 3} seen=\#{seen.join(",")}"
      RUBY
      expect(status).to be_success, out
      expect(out).to include("wrapper=true runs=true seen=nil,nil,nil")
    end
  end
end

