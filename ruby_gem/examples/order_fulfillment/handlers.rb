# frozen_string_literal: true

# Loads the order fulfillment step handlers and returns the template's path.
Dir[File.join(__dir__, "handlers", "*.rb")].sort.each { |f| require f }

module OrderFulfillment
  TEMPLATE = File.join(__dir__, "order_fulfillment.yaml")
end
