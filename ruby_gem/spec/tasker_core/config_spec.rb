# frozen_string_literal: true

RSpec.describe TaskerCore::Config do
  it "has readable defaults and rejects unknown settings, listing the valid ones" do
    config = described_class.new
    expect(config.pool_size).to eq(10)
    expect { config[:pool] = 1 }.to raise_error(ArgumentError, /unknown setting :pool; valid settings: database_url, pool_size/)
    expect { described_class.new(colour: 1) }.to raise_error(ArgumentError, /unknown setting :colour/)
  end

  it "hides the password and the logger in #inspect" do
    config = described_class.new(database_url: "postgres://app:s3cret@db:5432/x")
    expect(config.inspect).to include("postgres://app:***@db:5432/x")
    expect(config.inspect).not_to include("s3cret", "logger")
  end

  it "builds tasker_init's config from the engine keys" do
    config = described_class.new(database_url: "postgres://x/y", log_level: "info")
    expect(config.engine_config).to include(database_url: "postgres://x/y", log_level: "info", pool_size: 10)
    expect(config.engine_config.keys).not_to include(:worker_threads, :logger)
  end

  describe "behind PgBouncer" do
    around do |example|
      saved = ENV.to_h.slice("TASKER_PGBOUNCER", "TASKER_LISTEN_DATABASE_URL")
      ENV.delete("TASKER_PGBOUNCER")
      ENV.delete("TASKER_LISTEN_DATABASE_URL")
      example.run
    ensure
      ENV.delete("TASKER_PGBOUNCER")
      ENV.delete("TASKER_LISTEN_DATABASE_URL")
      ENV.update(saved)
    end

    it "sends pgbouncer and listen_database_url only when set, in the config or the environment" do
      expect(described_class.new(database_url: "postgres://x/y").engine_config.keys).not_to include(:pgbouncer, :listen_database_url)
      config = described_class.new(database_url: "postgres://bouncer:6432/y", pgbouncer: true,
                                   listen_database_url: "postgres://app:s3cret@db:5432/y")
      expect(config.engine_config).to include(pgbouncer: true, listen_database_url: "postgres://app:s3cret@db:5432/y")
      expect(config.inspect).to include("postgres://app:***@db:5432/y")
      expect(config.inspect).not_to include("s3cret")

      ENV["TASKER_PGBOUNCER"] = "1"
      ENV["TASKER_LISTEN_DATABASE_URL"] = "postgres://db:5432/y"
      expect(described_class.new(database_url: "postgres://x/y").engine_config)
        .to include(pgbouncer: true, listen_database_url: "postgres://db:5432/y")
      expect(described_class.new(database_url: "postgres://x/y", pgbouncer: false).engine_config.keys).not_to include(:pgbouncer)
    end

    it "rejects a pgbouncer setting that is not a yes or no, naming where it came from" do
      expect { described_class.new(database_url: "postgres://x/y", pgbouncer: "sometimes").engine_config }
        .to raise_error(TaskerCore::ValidationError, /pgbouncer must be true or false/) { |e| expect(e.details["field"]).to eq("pgbouncer") }
      ENV["TASKER_PGBOUNCER"] = "transaction"
      expect { described_class.new(database_url: "postgres://x/y").engine_config }
        .to raise_error(TaskerCore::ValidationError, /ENV\["TASKER_PGBOUNCER"\] must be true or false/)
    end
  end
end

RSpec.describe TaskerCore::OrchestrationManager do
  it "maps namespace/name/version to the pre-instantiated handlers, and a task to its handler" do
    handler = Workflows.handler(:linear)
    manager = described_class.instance
    expect(manager.list).to include("spec/linear_wf@1.0.0")
    expect(manager.handler_for("spec", "linear_wf", "1.0.0")).to equal(handler)
    task = handler.initialize_task(context: {})
    expect(manager.handler_for_task(task.task_id)).to equal(handler)
    step_handler = handler.get_step_handler_from_name("process_data")
    expect(step_handler).to be_a(SpecHandlers::Shape).and(equal(handler.get_step_handler_from_name("process_data")))
    expect(step_handler.config).to eq("shape" => "linear_wf")
    expect { handler.get_step_handler_from_name("nope") }.to raise_error(TaskerCore::NotFoundError, /has no step "nope"/)
    expect { manager.handler_for("spec", "ghost", "1") }.to raise_error(TaskerCore::NotFoundError, /registered: .*spec\/linear_wf@1.0.0/)
  end
end
