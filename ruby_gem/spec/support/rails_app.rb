# frozen_string_literal: true

require "fileutils"
require "open3"
require "securerandom"
require "uri"

# A minimal Rails 6.1 app on disk (config/application.rb, environment.rb,
# database.yml, Rakefile, bin/rails), as `rails new` would lay it out, with
# development and test databases of its own on the suite's server, so specs
# run real `bin/rails generate` and `bin/rails db:*` commands in it.
class RailsApp
  LIB = File.expand_path("../../lib", __dir__)

  attr_reader :root, :databases

  def initialize(root, schema_format: :ruby)
    @root = root
    @schema_format = schema_format
    @databases = { "development" => "#{prefix}_dev", "test" => "#{prefix}_test" }
    write_skeleton
  end

  # Runs bin/rails with args; returns [stdout+stderr, Process::Status].
  def rails(*args, env: {}, timeout: 90)
    run([RbConfig.ruby, "bin/rails", *args], env: env, timeout: timeout)
  end

  # Like #rails but raises with the output when the command fails.
  def rails!(*args, **opts)
    out, status = rails(*args, **opts)
    raise "bin/rails #{args.join(' ')} failed (#{status.exitstatus}):\n#{out}" unless status.success?

    out
  end

  # Runs Ruby code with the app's environment loaded.
  def runner!(code, env: {}, timeout: 90)
    out, status = run([RbConfig.ruby, "-e", "require './config/environment'\n#{code}"], env: env, timeout: timeout)
    raise "script failed (#{status.exitstatus}):\n#{out}" unless status.success?

    out
  end

  def run(argv, env: {}, timeout: 90)
    env = { "RUBYOPT" => "-I#{LIB}", "DATABASE_URL" => nil, "RAILS_ENV" => nil, "RACK_ENV" => nil,
            "TASKER_DATABASE_URL" => nil }.merge(env)
    out = +""
    status = nil
    Open3.popen2e(env, *argv, chdir: root, pgroup: true) do |stdin, io, wait|
      stdin.close
      reader = Thread.new { io.read }
      unless wait.join(timeout)
        Process.kill("KILL", -wait.pid)
        raise "#{argv.join(' ')} did not finish within #{timeout}s: #{reader.join(1) && reader.value}"
      end
      out = reader.value
      status = wait.value
    end
    [out, status]
  end

  def read(path)
    File.read(File.join(root, path))
  end

  # psql on one of the app's databases; returns stdout.
  def sql(env, query)
    SpecDatabase.psql!(SpecDatabase.url(databases.fetch(env)), query)
  end

  def drop_databases!
    databases.each_value { |name| SpecDatabase.psql!(SpecDatabase.admin_url, "DROP DATABASE IF EXISTS #{name} WITH (FORCE)") }
  end

  private

  def prefix
    @prefix ||= "tasker_rails_#{Process.pid}_#{SecureRandom.hex(3)}"
  end

  def write_skeleton
    %w[bin config db/migrate].each { |d| FileUtils.mkdir_p(File.join(root, d)) }
    write("config/application.rb", <<~RUBY)
      require "rails"
      require "active_record/railtie"
      require "tasker_core"

      class SpecApp < Rails::Application
        config.load_defaults 6.1
        config.root = File.expand_path("..", __dir__)
        config.eager_load = false
        config.logger = Logger.new(nil)
        config.active_record.schema_format = #{@schema_format.inspect}
      end
    RUBY
    write("config/environment.rb", "require_relative \"application\"\nRails.application.initialize!\n")
    write("Rakefile", "require_relative \"config/application\"\nRails.application.load_tasks\n")
    write("bin/rails", "APP_PATH = File.expand_path(\"../config/application\", __dir__)\nrequire \"rails/commands\"\n")
    write("db/seeds.rb", "")
    write("config/database.yml", database_yml)
  end

  def database_yml
    uri = URI.parse(SpecDatabase.server_url)
    databases.to_h do |env, name|
      [env, { "adapter" => "postgresql", "host" => uri.host, "port" => uri.port, "username" => uri.user,
              "password" => uri.password, "database" => name }.compact]
    end.to_yaml
  end

  def write(path, text)
    File.write(File.join(root, path), text)
  end
end
