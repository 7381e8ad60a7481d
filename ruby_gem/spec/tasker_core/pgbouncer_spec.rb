# frozen_string_literal: true

require_relative "../support/pgbouncer"

# The gem behind PgBouncer in transaction pool mode (three server
# connections, handed out round robin): told so, it works end to end; not
# told, its first error says what to set.
RSpec.describe "Running behind PgBouncer" do
  exe = File.expand_path("../../exe/tasker-core", __dir__)

  before(:all) { @bouncer = SpecPgBouncer.start }
  after(:all) { @bouncer&.stop }

  let(:bounced) { @bouncer.url(SpecDatabase.name) }
  let(:env) { { "DATABASE_URL" => bounced, "TASKER_DATABASE_URL" => nil, "TASKER_LISTEN_DATABASE_URL" => nil } }

  before { @bouncer.open_servers(SpecDatabase.name) }

  it "runs the demo end to end with TASKER_PGBOUNCER=1: a worker's threads claim, retry and complete every step" do
    out, status = Subprocess.ruby(%(ARGV.replace(["demo", "--orders", "3"]); load #{exe.dump}),
                                  timeout: 120, env: env.merge("TASKER_PGBOUNCER" => "1"))
    expect(status).to be_success, out
    expect(out).to include("tasks 3/3 complete")
    expect(out.scan(/^task \d+ fulfillment\/process_order@1.0.0: complete$/).size).to eq(3)
    expect(out).to match(/process_payment\s+complete\s+attempts=2/)
  end

  it "without it, fails with a DatabaseError whose message and details say to set pgbouncer" do
    out, status = Subprocess.ruby(<<~RUBY, timeout: 60, env: env.merge("TASKER_PGBOUNCER" => "0"))
      require "tasker_core"
      TaskerCore.configure { |c| c.logger = Logger.new(File::NULL) }
      error = nil
      #{2 * SpecPgBouncer::POOL_SIZE}.times do
        TaskerCore::Engine.task_status(1 << 40)
      rescue TaskerCore::NotFoundError
        next
      rescue TaskerCore::DatabaseError => e
        error = e
        break
      end
      abort "no error: prepared statements survived PgBouncer's connection switches" unless error
      puts error.message, "hint: \#{error.details['hint']}", "sqlstate: \#{error.details['sqlstate']}"
    RUBY
    expect(status).to be_success, out
    expect(out).to include("pgbouncer: true (TASKER_PGBOUNCER=1)")
    expect(out).to match(/^hint: is a connection pooler in transaction mode \(PgBouncer\) in between\?/)
    expect(out).to match(/^sqlstate: (26000|42P05)$/)
  end
end
