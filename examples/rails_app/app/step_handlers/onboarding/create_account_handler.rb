# frozen_string_literal: true

module Onboarding
  # Creates the signup's account; a retry finds the one it created.
  class CreateAccountHandler < TaskerCore::StepHandler::Base
    def process(task, _sequence, _step)
      account = Account.create_or_find_by!(email: task.context.fetch("email"))
      { "account_id" => account.id }
    end
  end
end
