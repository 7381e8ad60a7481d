# frozen_string_literal: true

require "tmpdir"

RSpec.describe TaskerCore::DatabaseURL do
  it "escapes what a URL cannot hold and keeps the options libpq would use" do
    url = described_class.from_config(username: "app user", password: "p@ss:w/rd?&% é", host: "db.internal", port: 6432,
                                      database: "my app", sslmode: "require", application_name: "tasker worker")
    expect(url).to eq("postgres://app%20user:p%40ss%3Aw%2Frd%3F%26%25%20%C3%A9@db.internal:6432/my%20app" \
                      "?sslmode=require&application_name=tasker%20worker")
  end

  it "uses a directory host as the Unix socket, and no host as libpq's default socket" do
    expect(described_class.from_config("host" => "/var/run/postgresql", "database" => "app"))
      .to eq("postgres:///app?host=%2Fvar%2Frun%2Fpostgresql")
    expect(described_class.from_config("database" => "app")).to eq("postgres:///app")
    expect(described_class.from_config("host" => "::1", "port" => "5432", "database" => "app")).to eq("postgres://[::1]:5432/app")
    expect(described_class.from_config("url" => "postgres://x@y/z", "host" => "ignored")).to eq("postgres://x@y/z")
  end

  it "gives a URL the library connects with (trust auth ignores the password, not its escaping)" do
    uri = URI.parse(SpecDatabase.url)
    url = described_class.from_config(username: uri.user, password: "p@ss:w/rd?&% é", host: uri.host, port: uri.port,
                                      database: uri.path.delete_prefix("/"), sslmode: "disable",
                                      application_name: "tasker database_url spec")
    out, status = Subprocess.ruby(<<~RUBY)
      require "tasker_core"
      TaskerCore.configure { |c| c.database_url = #{url.inspect}; c.logger = Logger.new(nil) }
      TaskerCore.ping
      puts "connected"
    RUBY
    expect(status).to be_success, out
    expect(out).to include("connected")
  end

  it "lets the CLI find the database of config/database.yml (ERB, RAILS_ENV, primary) in an app directory" do
    uri = URI.parse(SpecDatabase.url)
    task_id = Workflows.handler(:linear).initialize_task(context: { "cli" => "database.yml" }).task_id
    Dir.mktmpdir do |dir|
      FileUtils.mkdir_p(File.join(dir, "config"))
      File.write(File.join(dir, "config", "database.yml"), <<~YAML)
        staging:
          primary:
            adapter: postgresql
            host: <%= "#{uri.host}" %>
            port: #{uri.port}
            username: #{uri.user}
            password: "p@ss:w/rd"
            database: #{uri.path.delete_prefix('/')}
      YAML
      out, status = Subprocess.ruby(<<~RUBY, env: { "DATABASE_URL" => nil, "TASKER_DATABASE_URL" => nil, "RAILS_ENV" => "staging" })
        Dir.chdir(#{dir.inspect})
        ARGV.replace(["status", "#{task_id}"])
        load #{File.expand_path('../../exe/tasker-core', __dir__).inspect}
      RUBY
      expect(status).to be_success, out
      expect(out).to include("linear_wf")
    end
  end
end
