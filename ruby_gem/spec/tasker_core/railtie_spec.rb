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
        class SpecApp < Rails::Application
          config.root = #{dir.inspect}
          config.eager_load = false
          config.logger = Logger.new(nil)
        end
        Rails.env = "test"
        SpecApp.initialize!
        puts "url=\#{TaskerCore.config.database_url} loaded=\#{TaskerCore::Native.loaded?}"
        SpecApp.load_tasks
        puts Rake::Task.tasks.map(&:name).grep(/tasker_core/).inspect
        Rake::Task["tasker_core:migrate"].invoke
      RUBY
      expect(status).to be_success, out
      expect(out).to include("url=postgres://#{uri.user}@#{uri.host}:#{uri.port}#{uri.path} loaded=false",
                             '["tasker_core:migrate", "tasker_core:worker"]', "tasker_core schema at version")
    end
  end
end
