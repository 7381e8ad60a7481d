# frozen_string_literal: true

module OrderFulfillment
  # Charges the customer. An order whose context has "fail_payment_once"
  # gets a gateway timeout on its first attempt and succeeds on the retry.
  class ProcessPaymentHandler < TaskerCore::StepHandler::Base
    def process(task, sequence, step)
      total = sequence.result_of("validate_order").fetch("total")
      if task.context["fail_payment_once"] && step.attempts == 1
        raise TaskerCore::RetryableError.new("payment gateway timed out (attempt #{step.attempts})", retry_after: 0.3)
      end

      sleep(0.02) # the gateway call
      { "charged" => total, "gateway" => config.fetch("gateway", "demo"), "attempt" => step.attempts,
        "payment_id" => "pay_#{task.context.fetch('order_id')}" }
    end
  end
end
