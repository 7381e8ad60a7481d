# frozen_string_literal: true

RSpec.describe StartOnboarding do
  # Rollbacks and commits of the app's own transactions, so no fixture
  # transaction around them.
  self.use_transactional_tests = false

  after do
    Signup.delete_all
    Account.delete_all
  end

  def requests = ActiveRecord::Base.connection.select_value("SELECT count(*) FROM tasker_task_requests").to_i

  it "leaves neither the signup nor a task request when the app's transaction rolls back" do
    before = requests
    Signup.transaction do
      described_class.call(email: "rolled@example.com", plan: "free")
      raise ActiveRecord::Rollback # e.g. a later step of the same request failed
    end
    expect(Signup.where(email: "rolled@example.com")).to be_empty
    expect(requests).to eq(before)
    expect(TaskerCore.take_up_task_requests.map(&:task_request_id)).to be_empty
  end

  it "asks for exactly one task per signup when it commits" do
    signup = described_class.call(email: "kept@example.com", plan: "free")
    outcomes = TaskerCore.take_up_task_requests
    expect(outcomes.map { |o| [o.task_request_id, o.status] }).to eq([[signup.task_request_id, "created"]])
    task = TaskerCore::Engine.task_status(outcomes.first.task_id)
    expect(task.context).to include("signup_id" => signup.id, "email" => "kept@example.com", "plan" => "free")
  end
end
