# frozen_string_literal: true

# POST /signups starts a customer's onboarding; GET /signups/:id shows how
# far it got: "requested" until a worker has taken the request up, then the
# task's status and each step's.
class SignupsController < ApplicationController
  def create
    signup = StartOnboarding.call(params.permit(:email, :plan))
    render json: { id: signup.id, task_request_id: signup.task_request_id }, status: :accepted
  rescue ActiveRecord::RecordInvalid => e
    render json: { errors: e.record.errors.full_messages }, status: :unprocessable_entity
  end

  def show
    signup = Signup.find(params[:id])
    request = TaskerCore.task_request(signup.task_request_id)
    render json: { id: signup.id, email: signup.email }.merge(progress(request))
  end

  private

  def progress(request)
    return { status: "requested" } if request.pending?
    return { status: "failed", error: request.error["message"] } if request.failed?

    task = TaskerCore::Engine.task_status(request.task_id)
    { status: task.status, task_id: task.task_id, steps: task.steps.to_h { |s| [s.name, s.status] } }
  end
end
