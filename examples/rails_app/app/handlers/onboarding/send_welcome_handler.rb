# frozen_string_literal: true

module Onboarding
  # Marks the welcome as sent, once: a retried step does not send twice.
  class SendWelcomeHandler < TaskerCore::StepHandler::Base
    def process(_task, sequence, _step)
      account = Account.find(sequence.result_of("create_account").fetch("account_id"))
      account.with_lock { account.update!(welcomed_at: Time.current) unless account.welcomed_at }
      { "welcomed_at" => account.welcomed_at.iso8601 }
    end
  end
end
