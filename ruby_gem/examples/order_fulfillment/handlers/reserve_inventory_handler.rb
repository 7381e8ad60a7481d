# frozen_string_literal: true

module OrderFulfillment
  # Holds stock for every item of a validated order.
  class ReserveInventoryHandler < TaskerCore::StepHandler::Base
    def process(task, sequence, _step)
      validated = sequence.result_of("validate_order")
      sleep(0.02) # a warehouse call
      reservations = task.context.fetch("items").map { |i| { "sku" => i.fetch("sku"), "reserved" => i.fetch("quantity") } }
      { "order_id" => validated.fetch("order_id"), "reservations" => reservations }
    end
  end
end
