# frozen_string_literal: true

# POST /signups starts a customer's onboarding; GET /signups/:id shows how
# far it got (the task's status and each step's).
class SignupsController < ApplicationController
  def create
    signup = Signup.new(params.permit(:email, :plan))
    Signup.transaction do
      signup.save!
      task = TaskerCore::Engine.initialize_task(
        namespace: "onboarding", name: "onboard_customer", version: "1.0.0",
        context: { signup_id: signup.id, email: signup.email, plan: signup.plan },
        idempotency_key: "signup-#{signup.id}", initiator: "signups#create", source_system: "rails_app"
      )
      signup.update!(task_id: task.task_id)
    end
    render json: { id: signup.id, task_id: signup.task_id }, status: :accepted
  rescue ActiveRecord::RecordInvalid
    render json: { errors: signup.errors.full_messages }, status: :unprocessable_entity
  end

  def show
    signup = Signup.find(params[:id])
    status = TaskerCore::Engine.task_status(signup.task_id)
    render json: { id: signup.id, email: signup.email, status: status.status,
                   steps: status.steps.to_h { |s| [s.name, s.status] } }
  end
end
