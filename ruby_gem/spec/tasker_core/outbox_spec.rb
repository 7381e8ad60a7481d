# frozen_string_literal: true

require "active_record"
require "pg"
require_relative "../support/worker_handlers"

# TaskerCore.request_task on a real ActiveRecord connection (ruby-pg) to the
# suite's database: the task request is a row written in the app's own
# transaction, which a worker's dispatcher turns into a task after commit.
module OutboxSpec
  NS = "spec_outbox"

  # An application table written in the same transactions as the requests.
  class Order < ActiveRecord::Base
    self.table_name = "outbox_spec_orders"
  end
end

RSpec.describe "TaskerCore.request_task" do
  before(:all) do
    ActiveRecord::Base.establish_connection(SpecDatabase.url)
    ActiveRecord::Base.connection.execute("CREATE TABLE IF NOT EXISTS outbox_spec_orders (id bigserial PRIMARY KEY, sku text)")
    @handler = Workflows.handler(:diamond, namespace: OutboxSpec::NS, suffix: "outbox")
  end

  after(:all) { ActiveRecord::Base.remove_connection }

  def request_count
    ActiveRecord::Base.connection.select_value("SELECT count(*) FROM tasker_task_requests").to_i
  end

  def task_count
    ActiveRecord::Base.connection.select_value(<<~SQL).to_i
      SELECT count(*) FROM tasker_tasks t JOIN tasker_named_tasks nt USING (named_task_id)
        JOIN tasker_task_namespaces n ON n.task_namespace_id = nt.task_namespace_id WHERE n.name = '#{OutboxSpec::NS}'
    SQL
  end

  def request(context = {}, **extra)
    { namespace: OutboxSpec::NS, name: @handler.name, context: context }.merge(extra)
  end

  def wait_for_task(request_id)
    found = nil
    expect(WorkerSpecs.wait_until(timeout: 20) { (found = TaskerCore.task_request(request_id)).task? }).to be(true),
                                                                                                           "request #{request_id} never became a task: #{found.inspect}"
    found
  end

  it "raises ValidationError naming the field before anything is written" do
    before = request_count
    {
      { name: "x", context: {} } => /request_task: :namespace is missing/,
      request(context: "not a hash") => /request_task: .*:context/,
      request({}, initiator: "é" * 65) => /:initiator .*max_bytesize\?\(128/,
      request({}, idempotency_key: "k" * 256) => /:idempotency_key .*max_bytesize\?\(255/,
      request({}, colour: "red") => /unexpected keys \[:colour\]/,
      request({ "x" => Float::NAN }) => /request_task\["context"\]\["x"\]: NaN is not a finite number/,
      request({ "a" => 1, :a => 2 }) => /request_task: context: has the key "a" more than once/,
      request({ "items" => [{ "sku" => "a\u0000b" }] }) => /request_task: context.items\[0\].sku: string must not contain the escape/
    }.each do |input, message|
      expect do
        ActiveRecord::Base.transaction { TaskerCore.request_task(input) }
      end.to raise_error(TaskerCore::ValidationError, message)
    end
    expect(request_count).to eq(before)
    expect { TaskerCore.request_task(request, connection: Object.new) }
      .to raise_error(ArgumentError, /connection must be an ActiveRecord connection or a PG::Connection/)
  end

  it "leaves no request and no task when the transaction rolls back, and starts the task when it commits" do
    tasks_before = task_count
    requests_before = request_count
    rolled_back = nil
    ActiveRecord::Base.transaction do
      OutboxSpec::Order.create!(sku: "rolled-back")
      rolled_back = TaskerCore.request_task(request({ "sku" => "rolled-back" }))
      expect(rolled_back).to be_pending
      raise ActiveRecord::Rollback
    end
    expect(request_count).to eq(requests_before)
    expect(OutboxSpec::Order.where(sku: "rolled-back")).to be_empty
    expect { TaskerCore.task_request(rolled_back.task_request_id) }.to raise_error(TaskerCore::NotFoundError)

    # Running before the commit: the table's NOTIFY wakes it (its poll is 5 s away).
    worker = TaskerCore::Worker.new(namespaces: [OutboxSpec::NS], threads: 2, poll_interval: 5).start
    begin
      committed = nil
      ActiveRecord::Base.transaction do
        OutboxSpec::Order.create!(sku: "committed")
        committed = @handler.request_task(context: { "sku" => "committed" }, initiator: "checkout")
        # Not visible outside the transaction until it commits.
        expect { TaskerCore.task_request(committed.task_request_id) }.to raise_error(TaskerCore::NotFoundError)
      end
      expect(committed.task_request_id).to be_a(Integer)
      expect(committed.request).to include("context" => { "sku" => "committed" }, "initiator" => "checkout")

      taken = wait_for_task(committed.task_request_id)
      expect(taken).to be_created
      expect(WorkerSpecs.wait_until(timeout: 20) { TaskerCore::Engine.task_status(taken.task_id).finished? }).to be(true)
    ensure
      worker.stop(deadline: 10)
    end
    task = TaskerCore::Engine.task_status(taken.task_id)
    expect(task.status).to eq("complete")
    expect(task.context).to eq("sku" => "committed")
    expect(task.initiator).to eq("checkout")
    expect(task_count).to eq(tasks_before + 1) # the rolled-back request never became one
    expect(OutboxSpec::Order.where(sku: "committed").count).to eq(1)
  end

  it "works on a plain PG::Connection, and a duplicate identity resolves to the existing task" do
    conn = PG.connect(SpecDatabase.url)
    first = second = nil
    conn.transaction do
      first = TaskerCore.request_task(request({ "n" => 1 }, idempotency_key: "outbox-order-1"), connection: conn)
    end
    conn.transaction do
      conn.exec("SELECT 1")
      second = TaskerCore.request_task(request({ "n" => 1 }, idempotency_key: "outbox-order-1"), connection: conn)
    end
    outcomes = TaskerCore.take_up_task_requests(limit: 10)
    expect(outcomes.map(&:task_request_id)).to include(first.task_request_id, second.task_request_id)

    a = TaskerCore.task_request(first.task_request_id)
    b = TaskerCore.task_request(second.task_request_id)
    expect(a).to be_created
    expect(b).to be_duplicate
    expect(b.task_id).to eq(a.task_id)
  ensure
    conn&.close
  end

  it "lets TaskerCore::Testing purge the tasks an example's take-up created" do
    conn = PG.connect(SpecDatabase.url)
    before = task_count
    created = TaskerCore::Testing.isolate do
      conn.transaction { TaskerCore.request_task(request({ "n" => "isolated" }), connection: conn) }
      TaskerCore.take_up_task_requests(limit: 10).select { |o| o.status == "created" }.map(&:task_id)
    end
    expect(created.size).to eq(1)
    expect(task_count).to eq(before)
    expect { TaskerCore::Engine.task_status(created.first) }.to raise_error(TaskerCore::NotFoundError)
  ensure
    conn&.close
  end

  it "keeps a request that cannot succeed with its error, lists it, and retries it once fixable" do
    req = nil
    ActiveRecord::Base.transaction do
      req = TaskerCore.request_task(namespace: OutboxSpec::NS, name: "outbox_later", context: { "x" => 1 })
    end
    TaskerCore.take_up_task_requests
    failed = TaskerCore.task_request(req.task_request_id)
    expect(failed).to be_failed
    expect(failed.error["code"]).to eq("not_found")
    expect(failed.to_error).to be_a(TaskerCore::NotFoundError)
    expect(failed.to_error.message).to include("outbox_later")
    expect(TaskerCore.task_requests(status: "failed").map(&:task_request_id)).to include(req.task_request_id)
    expect(TaskerCore.take_up_task_requests.map(&:task_request_id)).not_to include(req.task_request_id) # not retried by itself

    later = TaskerCore::TaskHandler::Base.new(yaml: Workflows.yaml("outbox_later", { "only" => [] }, namespace: OutboxSpec::NS)).register!
    expect(TaskerCore.retry_task_request(req.task_request_id)).to be_pending
    TaskerCore.take_up_task_requests
    expect(TaskerCore.task_request(req.task_request_id)).to be_created
    expect { TaskerCore.retry_task_request(req.task_request_id) }.to raise_error(TaskerCore::InvalidTransitionError)
    expect(later).to be_registered

    expect { TaskerCore.task_requests(status: "lost") }.to raise_error(TaskerCore::ValidationError, /task_requests: .*status/)
    expect { TaskerCore.task_request(0) }.to raise_error(TaskerCore::ValidationError, /task_request_id must be an Integer/)
  end
end
