# frozen_string_literal: true

RSpec.describe "Signups" do
  it "onboards a customer: POST starts the workflow, its handlers run, GET shows it complete" do
    post "/signups", params: { email: "ada@example.com", plan: "team" }
    expect(response).to have_http_status(:accepted)
    signup = response.parsed_body

    status = TaskerCore::Testing.run_task_to_completion(signup.fetch("task_id"))
    expect(status.status).to eq("complete")

    account = Account.find_by!(email: "ada@example.com")
    expect(account).to have_attributes(status: "active", workspace_slug: "ws-team-#{account.id}")
    expect(account.welcomed_at).to be_present
    expect(TaskerCore::Engine.task_status(signup.fetch("task_id")).steps.find { |s| s.name == "send_welcome" }.results)
      .to eq("welcomed_at" => account.welcomed_at.iso8601(3), "plan" => "team")

    get "/signups/#{signup.fetch('id')}"
    expect(response.parsed_body).to include(
      "status" => "complete",
      "steps" => { "create_account" => "complete", "provision_workspace" => "complete",
                   "send_welcome" => "complete", "activate_account" => "complete" }
    )
  end

  it "refuses a bad signup with 422 and starts nothing" do
    post "/signups", params: { email: "not an email", plan: "team" }
    expect(response).to have_http_status(:unprocessable_entity)
    expect(response.parsed_body["errors"]).to include("Email is invalid")
    expect(Signup.count).to eq(0)
  end
end
