# frozen_string_literal: true

RSpec.describe "Signups" do
  context "when the signup commits" do
    # The task request must commit before the engine can see it, so these
    # examples run outside a fixture transaction and clean up after.
    self.use_transactional_tests = false

    after do
      Signup.delete_all
      Account.delete_all
    end

    it "onboards the customer: the request becomes a task, its handlers run, GET follows it to complete" do
      post "/signups", params: { email: "ada@example.com", plan: "team" }
      expect(response).to have_http_status(:accepted)
      signup_id = response.parsed_body.fetch("id")

      get "/signups/#{signup_id}"
      expect(response.parsed_body).to include("status" => "requested")

      # What a running worker does by itself (spec/workers shows one).
      outcome = TaskerCore.take_up_task_requests.find { |o| o.task_request_id == Signup.find(signup_id).task_request_id }
      expect(outcome.status).to eq("created")
      status = TaskerCore::Testing.run_task_to_completion(outcome.task_id)
      expect(status.status).to eq("complete")

      account = Account.find_by!(email: "ada@example.com")
      expect(account).to have_attributes(status: "active", workspace_slug: "ws-team-#{account.id}")
      welcome = status.steps.find { |s| s.name == "send_welcome" }
      expect(welcome.results).to eq("welcomed_at" => account.welcomed_at.as_json, "plan" => "team")

      get "/signups/#{signup_id}"
      expect(response.parsed_body).to include(
        "status" => "complete", "task_id" => outcome.task_id,
        "steps" => { "create_account" => "complete", "provision_workspace" => "complete",
                     "send_welcome" => "complete", "activate_account" => "complete" }
      )
    end
  end

  it "refuses a bad signup with 422 and asks for nothing" do
    requests = -> { ActiveRecord::Base.connection.select_value("SELECT count(*) FROM tasker_task_requests").to_i }
    expect { post "/signups", params: { email: "not an email", plan: "team" } }.not_to(change { requests.call })
    expect(response).to have_http_status(:unprocessable_entity)
    expect(response.parsed_body["errors"]).to include("Email is invalid")
    expect(Signup.count).to eq(0)
  end
end
