# frozen_string_literal: true

module Onboarding
  # The account goes live once its workspace and welcome are done.
  class ActivateAccountHandler < TaskerCore::StepHandler::Base
    def process(_task, sequence, _step)
      account = Account.find(sequence.result_of("create_account").fetch("account_id"))
      account.update!(status: "active")
      { "status" => account.status, "workspace" => sequence.result_of("provision_workspace").fetch("workspace") }
    end
  end
end
