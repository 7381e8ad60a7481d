# frozen_string_literal: true

require "yaml"

# TaskerCore::Testing's isolation (testing/isolation.rb) and the purge it
# runs on: Engine.purge_tasks / purge_all_tasks and LockTimeoutError.
# spec/tasker_core/testing_rails_spec.rb runs it in real Rails apps.
RSpec.describe "TaskerCore::Testing isolation" do
  # A two-step template with the strict identity: the same context twice is
  # a DuplicateTaskError unless the first task is gone.
  def strict_handler(namespace = "spec_isolation")
    TaskerCore::TaskHandler::Base.new(yaml: {
      "name" => "checkout", "namespace_name" => namespace, "version" => "1.0.0", "identity_strategy" => "strict",
      "step_templates" => [{ "name" => "charge", "handler_class" => "SpecHandlers::Shape" },
                           { "name" => "ship", "handler_class" => "SpecHandlers::Shape", "depends_on_steps" => ["charge"] }]
    }.to_yaml).register!
  end

  # What the database holds of these tasks: rows of tasks, steps, edges,
  # task transitions and step transitions.
  def rows_of(task_ids)
    ids = "ARRAY[#{task_ids.join(',')}]::bigint[]"
    SpecDatabase.query(<<~SQL).split("|").map(&:to_i)
      SELECT (SELECT count(*) FROM tasker_tasks WHERE task_id = ANY(#{ids})),
             (SELECT count(*) FROM tasker_workflow_steps WHERE task_id = ANY(#{ids})),
             (SELECT count(*) FROM tasker_workflow_step_edges e JOIN tasker_workflow_steps s ON s.workflow_step_id = e.to_step_id
               WHERE s.task_id = ANY(#{ids})),
             (SELECT count(*) FROM tasker_task_transitions WHERE task_id = ANY(#{ids})),
             (SELECT count(*) FROM tasker_workflow_step_transitions t JOIN tasker_workflow_steps s
                ON s.workflow_step_id = t.workflow_step_id WHERE s.task_id = ANY(#{ids}))
    SQL
  end

  def step_transitions_of(step_ids)
    SpecDatabase.query("SELECT count(*) FROM tasker_workflow_step_transitions WHERE workflow_step_id IN (#{step_ids.join(',')})").to_i
  end

  around do |example|
    held_wait = TaskerCore::Testing.held_wait
    example.run
  ensure
    TaskerCore::Testing.held_wait = held_wait
  end

  it "purges every task created in the block, by any thread, with its steps, transitions and results; " \
     "the same strict request then succeeds again instead of raising DuplicateTaskError" do
    handler = strict_handler
    outside = Workflows.handler(:linear, suffix: "outside").initialize_task(context: {})
    created = nil
    step_ids = nil
    value = TaskerCore::Testing.isolate do
      first = handler.initialize_task(context: { "order" => 1 })
      run_task_to_completion(first.task_id)
      second = Thread.new { TaskerCore::Engine.initialize_task(namespace: "spec_isolation", name: "checkout", context: { "order" => 2 }) }.value
      created = [first.task_id, second.task_id]
      step_ids = [*first.step_mapping.values, *second.step_mapping.values]
      expect(TaskerCore::Testing.created_task_ids).to eq(created)
      expect(rows_of(created)).to eq([2, 4, 2, 4, 8]) # a step that ran has 3 transitions, a pending one 1
      expect { handler.initialize_task(context: { "order" => 1 }) }.to raise_error(TaskerCore::DuplicateTaskError)
      :block_value
    end
    expect(value).to eq(:block_value)
    expect(rows_of(created)).to eq([0, 0, 0, 0, 0])
    expect(step_transitions_of(step_ids)).to eq(0)
    expect(TaskerCore::Engine.task_status(outside.task_id).task_id).to eq(outside.task_id) # created outside: kept

    again = TaskerCore::Testing.isolate { handler.initialize_task(context: { "order" => 1 }) }
    expect(again.task_id).not_to eq(created.first)
  end

  it "purges an inner isolation's tasks at its end, the outer's at its own, and skips tasks the block purged itself" do
    handler = Workflows.handler(:linear, suffix: "nested")
    inner_ids = outer_id = nil
    TaskerCore::Testing.isolate do
      outer_id = handler.initialize_task(context: {}).task_id
      TaskerCore::Testing.isolate do
        inner_ids = Array.new(2) { handler.initialize_task(context: {}).task_id }
        TaskerCore::Engine.purge_tasks(task_ids: [inner_ids.first])
      end
      expect(rows_of(inner_ids).first).to eq(0)
      expect(rows_of([outer_id]).first).to eq(1)
    end
    expect(rows_of([outer_id]).first).to eq(0)
  end

  it "purges when the block raises, and the block's exception is what propagates" do
    handler = Workflows.handler(:linear, suffix: "raising")
    id = nil
    expect do
      TaskerCore::Testing.isolate do
        id = handler.initialize_task(context: {}).task_id
        raise ArgumentError, "the example failed"
      end
    end.to raise_error(ArgumentError, "the example failed")
    expect(rows_of([id]).first).to eq(0)
  end

  it "waits for a worker to finish the steps it holds; one still holding them after held_wait has them purged " \
     "anyway and fails the isolation naming the step and the worker" do
    handler = Workflows.handler(:linear, suffix: "held", namespace: "spec_isolation_held")
    TaskerCore::Testing.held_wait = 5
    finished = nil
    TaskerCore::Testing.isolate do
      finished = handler.initialize_task(context: {}).task_id
      claimed = TaskerCore::Engine.claim(namespaces: ["spec_isolation_held"], limit: 1, worker_id: "spec-finisher", lease_ms: 60_000).first
      # The worker reports while the purge waits for it.
      Thread.new do
        sleep 0.2
        TaskerCore::Engine.complete(step_id: claimed.workflow_step_id, claim_token: claimed.claim_token, results: {})
      end
    end
    expect(rows_of([finished]).first).to eq(0)

    TaskerCore::Testing.held_wait = 0.1
    stuck = nil
    expect do
      TaskerCore::Testing.isolate do
        stuck = handler.initialize_task(context: {}).task_id
        TaskerCore::Engine.claim(namespaces: ["spec_isolation_held"], limit: 1, worker_id: "spec-stuck", lease_ms: 60_000)
      end
    end.to raise_error(TaskerCore::ConflictError) { |e|
      expect(e.message).to include("1 step of tasks this example created still held by a worker after 0.1s " \
                                   "(task #{stuck} step \"initialize_data\" claimed by \"spec-stuck\"); the tasks were purged anyway")
    }
    expect(rows_of([stuck]).first).to eq(0)
  end

  describe "TaskerCore::Engine.purge_tasks" do
    it "rejects bad input in Ruby, naming the field, before any call" do
      [[{ task_ids: [] }, /task_ids/], [{ task_ids: [1, 0] }, /task_ids/], [{ task_ids: "1" }, /task_ids/],
       [{ task_ids: Array.new(10_001) { |i| i + 1 } }, /task_ids/], [{ task_ids: [1], all: true }, /all/]].each do |params, field|
        expect { TaskerCore::Engine.purge_tasks(params) }.to raise_error(TaskerCore::ValidationError, /\Apurge_tasks: .*#{field}/)
      end
      expect { TaskerCore::Engine.purge_all_tasks(force: "yes") }.to raise_error(TaskerCore::ValidationError, /force/)
    end

    it "names ids that name no task and purges nothing; skip_missing purges the rest; a held task is refused" do
      handler = Workflows.handler(:linear, suffix: "purge", namespace: "spec_purge")
      a, b = Array.new(2) { handler.initialize_task(context: {}).task_id }
      gone = 2**62
      expect { TaskerCore::Engine.purge_tasks(task_ids: [a, gone]) }.to raise_error(TaskerCore::NotFoundError) { |e|
        expect(e.message).to include("no task #{gone}, nothing was purged")
        expect(e.details["task_ids"]).to eq([gone])
      }
      expect(rows_of([a]).first).to eq(1)
      expect(TaskerCore::Engine.purge_tasks(task_ids: [a, gone], skip_missing: true))
        .to eq("purged_tasks" => 1, "purged_steps" => 6, "missing_task_ids" => [gone])

      claimed = TaskerCore::Engine.claim(namespaces: ["spec_purge"], limit: 1, worker_id: "spec-holder").first
      expect { TaskerCore::Engine.purge_tasks(task_ids: [b]) }.to raise_error(TaskerCore::ConflictError) { |e|
        expect(e.details["held"]).to contain_exactly(include("task_id" => b, "step_id" => claimed.workflow_step_id,
                                                             "step_name" => "initialize_data", "claimed_by" => "spec-holder"))
      }
      expect(TaskerCore::Engine.purge_tasks(task_ids: [b], force: true)).to include("purged_tasks" => 1)
    end
  end

  context "in a process of its own, on a database of its own" do
    around do |example|
      @db = "#{SpecDatabase.name}_t#{SecureRandom.hex(2)}"
      SpecDatabase.psql!(SpecDatabase.admin_url, "CREATE DATABASE #{@db}")
      example.run
    ensure
      SpecDatabase.psql!(SpecDatabase.admin_url, "DROP DATABASE IF EXISTS #{@db} WITH (FORCE)")
    end

    def run_script(script)
      Subprocess.ruby(<<~RUBY, timeout: 60, env: { "DATABASE_URL" => SpecDatabase.url(@db) })
        require "tasker_core"
        require "pg"
        $stdout.sync = true
        TaskerCore.configure { |c| c.logger = Logger.new($stdout, level: Logger::WARN) }
        def template(name) = TaskerCore::TaskHandler::Base.new(yaml: { "name" => name, "namespace_name" => "own",
          "version" => "1.0.0", "step_templates" => [{ "name" => "only", "handler_class" => "Object" }] }.to_yaml)
        #{script}
      RUBY
    end

    it "enable! gives the engine a lock_timeout: a TRUNCATE inside another connection's open transaction fails " \
       "the engine call fast with a LockTimeoutError naming that session, instead of waiting out the call timeout" do
      out, status = run_script(<<~RUBY)
        TaskerCore.configure { |c| c.call_timeout_ms = 60_000 }
        TaskerCore::Testing.enable!
        puts "lock_timeout_ms=\#{TaskerCore.config.lock_timeout_ms}"
        TaskerCore.migrate
        handler = template("locked")
        handler.register!
        app = PG.connect(ENV["DATABASE_URL"])
        app.exec("SET application_name = 'spec_app'")
        app.exec("BEGIN")
        app.exec("TRUNCATE tasker_tasks CASCADE")
        begin
          handler.initialize_task(context: {})
        rescue TaskerCore::TimeoutError => e
          puts "raised=\#{e.class} code=\#{e.code} holders=\#{e.holders.map { |h| [h["pid"] == app.backend_pid, h["application_name"]] }.inspect}"
          puts e.message
        end
        app.exec("ROLLBACK")
        puts "after_rollback=\#{handler.initialize_task(context: {}).task_id.positive?}"
      RUBY
      expect(status).to be_success, out
      expect(out).to include("lock_timeout_ms=3000", "raised=TaskerCore::LockTimeoutError code=timeout holders=[[true, \"spec_app\"]]",
                             "initialize_task: gave up waiting for a lock on tasker_* tables held by another transaction",
                             "AccessExclusiveLock on tasker_tasks", 'its last statement: "TRUNCATE tasker_tasks CASCADE"',
                             "Probably a TRUNCATE or DELETE of tasker_* tables inside a transactional fixture",
                             "TaskerCore::Testing.reset! empties the engine", "after_rollback=true")
    end

    it "reset! purges every task and keeps the templates; it refuses a held step unless forced; " \
       "enable! keeps a configured lock_timeout_ms and restarts an engine already running without one" do
      out, status = run_script(<<~RUBY)
        TaskerCore.configure { |c| c.lock_timeout_ms = 750 }
        TaskerCore::Testing.enable!
        puts "kept=\#{TaskerCore.config.lock_timeout_ms}"
        TaskerCore.migrate
        a, b = template("a"), template("b")
        3.times { |i| a.initialize_task(context: { "i" => i }) }
        b.initialize_task(context: {})
        TaskerCore::Engine.claim(namespaces: ["own"], limit: 1, worker_id: "holder", lease_ms: 60_000)
        begin
          TaskerCore::Testing.reset!
        rescue TaskerCore::ConflictError => e
          puts "refused held_count=\#{e.details["held_count"]}"
        end
        puts "reset=\#{TaskerCore::Testing.reset!(force: true).slice("purged_tasks", "purged_steps")}"
        puts "again=\#{a.initialize_task(context: { "i" => 0 }).step_count}"
        # Enabled after the engine started: it restarts with the lock timeout.
        TaskerCore.shutdown
        TaskerCore.config.lock_timeout_ms = nil
        TaskerCore.ping
        TaskerCore::Testing.enable!
        puts "restarted=\#{!TaskerCore::Native.ready?} lock_timeout_ms=\#{TaskerCore.config.lock_timeout_ms}"
        app = PG.connect(ENV["DATABASE_URL"])
        app.exec("BEGIN")
        app.exec("TRUNCATE tasker_tasks CASCADE")
        begin
          a.initialize_task(context: { "i" => 9 })
        rescue TaskerCore::LockTimeoutError
          puts "lock_timeout_after_restart"
        end
      RUBY
      expect(status).to be_success, out
      expect(out).to include("kept=750", "refused held_count=1", 'reset={"purged_tasks"=>4, "purged_steps"=>4}', "again=1",
                             "restarted=true lock_timeout_ms=3000",
                             "lock_timeout_after_restart")
    end
  end
end
