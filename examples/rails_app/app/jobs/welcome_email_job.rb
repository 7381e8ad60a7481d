# frozen_string_literal: true

# The app's existing welcome job (also enqueued on its own elsewhere); the
# onboarding workflow runs it as its send_welcome step
# (TaskerCore::StepHandler::ActiveJobStep). Sends once: a retried step or a
# redelivered job finds welcomed_at set.
class WelcomeEmailJob < ApplicationJob
  queue_as :mailers

  def perform(account_id, plan)
    account = Account.find(account_id)
    account.with_lock { account.update!(welcomed_at: Time.current) unless account.welcomed_at }
    { "welcomed_at" => account.welcomed_at, "plan" => plan }
  end
end
