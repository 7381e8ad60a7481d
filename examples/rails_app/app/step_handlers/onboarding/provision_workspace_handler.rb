# frozen_string_literal: true

module Onboarding
  # Names the account's workspace (handler_config's slug_prefix, the plan).
  class ProvisionWorkspaceHandler < TaskerCore::StepHandler::Base
    def process(task, sequence, step)
      account = Account.find(sequence.result_of("create_account").fetch("account_id"))
      slug = [step.config.fetch("slug_prefix"), task.context.fetch("plan"), account.id].join("-")
      account.update!(workspace_slug: slug, status: "provisioned")
      { "workspace" => slug }
    end
  end
end
