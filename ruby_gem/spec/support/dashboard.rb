# frozen_string_literal: true

require "securerandom"

module SpecHandlers
  # Fails with markup in its message, backtrace and the error class is
  # plain; returns markup in its results: the dashboard must show it as text.
  class Hostile < TaskerCore::StepHandler::Base
    PAYLOAD = %(</pre><script>alert("xss")</script><img src=x onerror=alert(1)>)

    def process(task, _sequence, step)
      raise TaskerCore::PermanentError, "refused #{PAYLOAD}" if task.context["fail"] == step.name

      { "html" => PAYLOAD, "step" => step.name }
    end
  end
end

# Tasks for the dashboard's specs: an order-fulfillment DAG in a namespace
# of its own (validate, then reserve and charge in parallel, ship, notify),
# run in this process with run_task_to_completion. Include it in an example
# group.
module DashboardTasks
  STEPS = {
    "validate_order" => [], "reserve_inventory" => ["validate_order"], "charge_payment" => ["validate_order"],
    "ship_order" => %w[reserve_inventory charge_payment], "notify_customer" => ["ship_order"]
  }.freeze

  def self.namespace(prefix = "web") = "#{prefix}_#{SecureRandom.hex(3)}"

  def self.handler(namespace, handler: "SpecHandlers::Shape", retry_limit: 2)
    Workflows.handler("fulfillment", STEPS, namespace: namespace, retry_limit: retry_limit, handler: handler, suffix: "order")
  end

  # A task whose charge_payment failed for good: validate and reserve done,
  # ship and notify pending, the task in error.
  def failed_task(handler, **context)
    id = handler.initialize_task(context: { "failures" => { "charge_payment" => "permanent" } }.merge(context)).task_id
    expect(run_task_to_completion(id).status).to eq("error")
    id
  end

  def complete_task(handler)
    id = handler.initialize_task(context: {}).task_id
    expect(run_task_to_completion(id).status).to eq("complete")
    id
  end

  def pending_task(handler) = handler.initialize_task(context: {}).task_id
end
