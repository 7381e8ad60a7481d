# frozen_string_literal: true

# Records a signup and asks for its onboarding workflow in one transaction
# of the app's: the task request is a row written on this connection
# (TaskerCore.request_task), so a rollback leaves neither the signup nor a
# task, and a worker starts the task once it commits.
class StartOnboarding
  def self.call(attributes) = new.call(attributes)

  # Returns the saved Signup; raises ActiveRecord::RecordInvalid.
  def call(attributes)
    Signup.transaction do
      signup = Signup.create!(attributes)
      request = TaskerCore.request_task(
        namespace: "onboarding", name: "onboard_customer", version: "1.0.0",
        context: { signup_id: signup.id, email: signup.email, plan: signup.plan },
        idempotency_key: "signup-#{signup.id}", initiator: "signups#create", source_system: "rails_app",
        connection: Signup.connection
      )
      signup.update!(task_request_id: request.task_request_id)
      signup
    end
  end
end
