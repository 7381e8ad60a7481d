# frozen_string_literal: true

# The original Tasker's workflow shapes through the gem, on the happy,
# retry-then-success, exhaustion and permanent-failure paths.
RSpec.describe "workflow shapes" do
  def run(shape, failures = {}, retry_limit: 3, read: {})
    handler = Workflows.handler(shape, retry_limit: retry_limit, suffix: "r#{retry_limit}")
    init = handler.initialize_task(context: { "failures" => failures, "read" => read, "n" => SecureRandom.hex(4) })
    [init, run_task_to_completion(init.task_id)]
  end

  Workflows::SHAPES.each do |shape, steps|
    last = steps.keys.last
    middle = steps.keys[steps.size / 2]

    describe shape.to_s do
      it "completes every step once on the happy path; the last step reads every ancestor's results" do
        ancestors = steps.keys.reject { |s| s == last }.select { |s| ancestor?(steps, s, last) }
        init, status = run(shape, read: { last => ancestors })
        expect(init.step_count).to eq(steps.size)
        expect(status.status).to eq("complete")
        expect(status.steps.map(&:attempts)).to all(eq(1))
        final = status.step(last)
        expect(final.results["parents"]).to eq(steps.fetch(last).sort)
        expect(final.results["read"]).to eq(ancestors.to_h { |a| [a, a] })
      end

      it "retries a flaky step and completes (retry-then-success)" do
        _, status = run(shape, { middle => "retry_once", last => "raise_once" })
        expect(status.status).to eq("complete")
        expect(status.step(middle).attempts).to eq(2)
        expect(status.step(last).attempts).to eq(2)
        expect(status.steps.reject { |s| [middle, last].include?(s.name) }.map(&:attempts)).to all(eq(1))
      end

      it "fails the task when a step exhausts its retries, recording the error" do
        _, status = run(shape, { middle => "always" }, retry_limit: 2)
        expect(status.status).to eq("error")
        failed = status.step(middle)
        expect([failed.status, failed.attempts]).to eq(["error", 2])
        expect(failed.last_error).to include("class" => "RuntimeError", "message" => "boom in #{middle} (attempt 2)")
        expect(failed.last_error["backtrace"]).to be_an(Array).and(satisfy { |b| b.first.include?("workflows.rb") })
        expect(status.step(last).status).to eq("pending") unless middle == last
      end

      it "fails the task at once on a PermanentError" do
        _, status = run(shape, { middle => "permanent" })
        expect(status.status).to eq("error")
        expect(status.step(middle).attempts).to eq(1)
        expect(status.step(middle).last_error).to include("class" => "TaskerCore::PermanentError", "permanent" => true)
      end
    end
  end

  def ancestor?(steps, candidate, of)
    steps.fetch(of).any? { |parent| parent == candidate || ancestor?(steps, candidate, parent) }
  end

  describe "order fulfillment (examples/)" do
    before(:all) do
      require File.expand_path("../../examples/order_fulfillment/handlers", __dir__)
      @handler = TaskerCore.register_template(OrderFulfillment::TEMPLATE).register!
    end

    def order(extra = {})
      { "order_id" => rand(1_000_000), "customer_email" => "a@example.com",
        "items" => [{ "sku" => "A", "quantity" => 2, "price" => 5.5 }] }.merge(extra)
    end

    it "runs validate -> reserve & pay -> ship, passing results along" do
      ctx = order
      init = @handler.initialize_task(context: ctx, idempotency_key: SecureRandom.uuid)
      status = run_task_to_completion(init.task_id)
      expect(status.status).to eq("complete")
      expect(status.step("validate_order").results).to include("total" => 11.0, "item_count" => 1)
      expect(status.step("ship_order").results).to include("payment_id" => "pay_#{ctx['order_id']}",
                                                           "tracking_number" => format("TRK%06d", ctx["order_id"]))
    end

    it "retries the payment once when the gateway times out" do
      init = @handler.initialize_task(context: order("fail_payment_once" => true), idempotency_key: SecureRandom.uuid)
      first = handle_one_step(init.step_id("validate_order"))
      expect(first.status).to eq("complete")
      pay = handle_one_step(init.step_id("process_payment"))
      expect([pay.status, pay.error["class"]]).to eq(["waiting_for_retry", "TaskerCore::RetryableError"])
      expect { handle_one_step(init.step_id("process_payment")) }
        .to raise_error(TaskerCore::NotReadyError) { |e| expect(e.reason).to eq("in_backoff") }
      expect { handle_one_step(init.step_id("ship_order")) }
        .to raise_error(TaskerCore::NotReadyError) { |e| expect(e.reason).to eq("dependencies_unmet") }
      status = run_task_to_completion(init.task_id)
      expect(status.status).to eq("complete")
      expect(status.step("process_payment").results).to include("attempt" => 2)
    end

    it "fails permanently on an order with too many items" do
      items = Array.new(51) { |i| { "sku" => "S#{i}", "quantity" => 1, "price" => 1 } }
      init = @handler.initialize_task(context: order("items" => items), idempotency_key: SecureRandom.uuid)
      result = handle_one_step(init.step_id("validate_order"))
      expect([result.status, result.task_status]).to eq(%w[error error])
      expect(result.error["message"]).to eq("order has 51 items, at most 50 allowed")
    end

    it "refuses a duplicate idempotency key naming the existing task" do
      key = SecureRandom.uuid
      first = @handler.initialize_task(context: order, idempotency_key: key)
      expect { @handler.initialize_task(context: order, idempotency_key: key) }
        .to raise_error(TaskerCore::DuplicateTaskError) { |e| expect(e.existing_task_id).to eq(first.task_id) }
    end
  end
end
