# frozen_string_literal: true

module OrderFulfillment
  # Checks the order and computes its total.
  class ValidateOrderHandler < TaskerCore::StepHandler::Base
    def process(task, _sequence, _step)
      items = task.context.fetch("items")
      raise TaskerCore::PermanentError, "order has #{items.size} items, at most #{config['max_items']} allowed" if items.size > config.fetch("max_items", 50)

      total = items.sum { |i| i.fetch("quantity") * i.fetch("price") }
      { "order_id" => task.context.fetch("order_id"), "item_count" => items.size, "total" => total.round(2) }
    end
  end
end
