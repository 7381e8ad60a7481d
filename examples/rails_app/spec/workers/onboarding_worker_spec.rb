# frozen_string_literal: true

require "open3"

# The worker as it is deployed: `bin/rails tasker_core:worker` in its own
# process, stopped with TERM. Signups are committed (no transactional
# fixture), so this group cleans up after itself.
RSpec.describe "bin/rails tasker_core:worker", type: :request do
  self.use_transactional_tests = false

  after do
    # The worker process made these tasks, so TaskerCore::Testing did not
    # see them being created.
    tasks = Signup.where.not(task_request_id: nil).filter_map { |s| TaskerCore.task_request(s.task_request_id).task_id }
    TaskerCore::Engine.purge_tasks(task_ids: tasks) unless tasks.empty?
    Signup.delete_all
    Account.delete_all
  end

  def spawn_worker(env)
    root = Rails.root.to_s
    stdin, out, wait = Open3.popen2e(env.merge("RAILS_ENV" => "test"), File.join(root, "bin/rails"), "tasker_core:worker",
                                     chdir: root, pgroup: true)
    stdin.close
    [wait, Thread.new { out.read }]
  end

  def wait_for(timeout)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    until (done = yield)
      raise "not done within #{timeout}s" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.1
    end
    done
  end

  it "takes the signups' task requests up and runs every onboarding with more processors than the pool has " \
     "connections, warns about it, and stops on TERM" do
    log = Rails.root.join("log/test.log")
    log_start = File.size?(log) || 0
    ids = Array.new(20) do |i|
      post "/signups", params: { email: "user#{i}@example.com", plan: i.even? ? "team" : "free" }
      expect(response).to have_http_status(:accepted)
      response.parsed_body.fetch("id")
    end

    pool = ActiveRecord::Base.connection_db_config.pool
    wait, output = spawn_worker("THREADS" => (pool + 3).to_s, "DEADLINE" => "20")
    begin
      statuses = wait_for(90) do
        all = ids.map do |id|
          request = TaskerCore.task_request(Signup.find(id).task_request_id)
          request.task_id ? TaskerCore::Engine.task_status(request.task_id).status : request.status
        end
        all if all.all? { |s| %w[complete error].include?(s) }
      end
      expect(statuses.uniq).to eq(["complete"])
    ensure
      Process.kill("TERM", -wait.pid) if wait.alive?
    end
    expect(wait.join(30)).to be_truthy, "the worker did not exit after TERM"
    expect(wait.value).to be_success, output.value
    expect(Account.where(status: "active").count).to eq(20)

    logged = File.binread(log, nil, log_start)
    expect(logged).to include("runs #{pool + 3} processors but the Active Record pool has #{pool} connections")
    expect(logged).not_to include("ConnectionTimeoutError")
  end
end
