# frozen_string_literal: true

module OrderFulfillment
  # Books the shipment once stock is held and payment taken.
  class ShipOrderHandler < TaskerCore::StepHandler::Base
    def process(task, sequence, _step)
      payment = sequence.result_of("process_payment")
      reserved = sequence.result_of("reserve_inventory").fetch("reservations")
      { "tracking_number" => "TRK#{task.context.fetch('order_id').to_s.rjust(6, '0')}",
        "payment_id" => payment.fetch("payment_id"), "parcels" => reserved.size,
        "email" => task.context.fetch("customer_email") }
    end
  end
end
