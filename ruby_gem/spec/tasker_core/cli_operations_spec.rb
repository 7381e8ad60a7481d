# frozen_string_literal: true

require "open3"
require "pty"

# The operations commands of the real exe/tasker-core, each run as its own
# process against the suite's database (DATABASE_URL), on tasks this spec
# makes through the engine in a namespace of its own.
RSpec.describe "tasker-core operations commands" do
  exe = File.expand_path("../../exe/tasker-core", __dir__)
  ns = "cliops_#{SecureRandom.hex(3)}"

  define_method(:cli) do |*args|
    out, err, status = Open3.capture3({ "DATABASE_URL" => SpecDatabase.url }, RbConfig.ruby, "-I", Subprocess::LIB, exe,
                                      *args.map(&:to_s))
    [out, err, status.exitstatus]
  end

  define_method(:json) { |*args| JSON.parse(cli(*args, "--json").first) }

  let(:handler) { Workflows.handler(:linear, namespace: ns, retry_limit: 1) }
  let(:other) { Workflows.handler(:diamond, namespace: ns, retry_limit: 1) }

  def failed_task(h = handler)
    id = h.initialize_task(context: { "failures" => { "initialize_data" => "permanent" } }).task_id
    expect(run_task_to_completion(id).status).to eq("error")
    id
  end

  def complete_task(h = handler)
    id = h.initialize_task(context: {}).task_id
    expect(run_task_to_completion(id).status).to eq("complete")
    id
  end

  def state(task_id) = TaskerCore::Engine.task_status(task_id).status

  it "documents the commands and their exit statuses in --help" do
    out, _err, code = cli("--help")
    expect(code).to eq(0)
    expect(out).to include("list [filters]", "show TASK_ID", "retry TASK_ID...", "cancel TASK_ID...", "resolve STEP_ID",
                           "stuck", "stats", "Exit status:", "2  usage", "3  not found")
    _out, err, code = cli("frobnicate")
    expect([code, err]).to match([2, /unknown command "frobnicate"/])
  end

  describe "list" do
    it "pages the namespace's tasks newest first, filtered by state and template" do
      failed = failed_task
      done = complete_task
      pending = other.initialize_task(context: {}).task_id

      page = json("list", "--namespace", ns)
      ids = page["tasks"].map { |t| t["task_id"] }
      expect(ids.first(3)).to eq([pending, done, failed])
      expect(page["tasks"].first).to include("namespace" => ns, "name" => "diamond_wf", "version" => "1.0.0",
                                             "status" => "pending", "steps" => include("total" => 7, "done" => 0))
      expect(json("list", "--namespace", ns, "--state", "error")["tasks"].map { |t| t["task_id"] }).to include(failed)
      expect(json("list", "--namespace", ns, "--state", "error")["tasks"].map { |t| t["status"] }.uniq).to eq(["error"])
      by_template = json("list", "--namespace", ns, "--template", "diamond_wf@1.0.0")["tasks"]
      expect(by_template.map { |t| t["name"] }.uniq).to eq(["diamond_wf"])
      expect(json("list", "--newer-than", "1h", "--namespace", ns)["tasks"].size).to eq(ids.size)
      expect(json("list", "--older-than", "1h", "--namespace", ns)["tasks"]).to eq([])

      # Keyset pages: each task once, a task created between pages not shifting them.
      first = json("list", "--namespace", ns, "--limit", "2")
      expect(first["tasks"].size).to eq(2)
      handler.initialize_task(context: {})
      rest = json("list", "--namespace", ns, "--limit", "500", "--before", first["next_before_task_id"])
      expect(first["tasks"].map { |t| t["task_id"] } + rest["tasks"].map { |t| t["task_id"] }).to eq(ids)
      expect(rest["next_before_task_id"]).to be_nil

      out, _err, code = cli("list", "--namespace", ns, "--limit", "1")
      expect(code).to eq(0)
      expect(out.lines.first).to match(/\ATASK\s+STATE\s+TEMPLATE\s+STEPS\s+REQUESTED/)
      expect(out).to include("#{ns}/linear_wf@1.0.0", "more: add --before ")
    end

    it "refuses bad filters and huge pages with exit 2, unknown namespaces with exit 3" do
      out, err, code = cli("list", "--state", "runing")
      expect([code, out]).to eq([2, ""])
      expect(err).to include('unknown task state "runing"; valid states: pending, in_progress, complete, error, cancelled, resolved_manually')
      out, err, code = cli("list", "--limit", "100000", "--json")
      expect(code).to eq(2)
      expect(err).to include("--limit must be within 1..500, got 100000")
      expect(JSON.parse(out)["error"]).to include("code" => "usage", "message" => "--limit must be within 1..500, got 100000")
      expect(cli("list", "--older-than", "soon")[1]).to include("--older-than takes a duration like 90s, 15m, 2h or 3d")
      expect(cli("list", "--template", "x")[1]).to include("name: needs a namespace")
      expect(cli("list", "--offset", "5").values_at(1, 2)).to match([/invalid option: --offset/, 2])
      out, err, code = cli("list", "--namespace", "no_such_namespace", "--json")
      expect([code, err]).to match([3, /namespace no_such_namespace not found/])
      expect(JSON.parse(out)["error"]).to include("code" => "not_found")
    end
  end

  describe "show" do
    it "prints the DAG with states, attempts, durations and the last error" do
      id = failed_task
      out, _err, code = cli("show", id)
      expect(code).to eq(0)
      expect(out.lines.first).to eq("task #{id} #{ns}/linear_wf@1.0.0: error\n")
      expect(out).to match(/^  initialize_data\s+error\s+attempts=1\s+\d+ms\s+\(declined in initialize_data\)$/)
      expect(out).to match(/^    validate_input\s+pending\s+attempts=0\s+-  <- initialize_data$/)

      task = json("show", id)
      expect(task).to include("task_id" => id, "status" => "error", "namespace" => ns)
      first = task["steps"].find { |s| s["name"] == "initialize_data" }
      expect(first).to include("status" => "error", "attempts" => 1, "dependency_level" => 0,
                               "last_error" => include("message" => "declined in initialize_data"))
      expect(first["duration_ms"]).to be_a(Integer)
    end

    it "exits 3 for an unknown task and 2 for a bad id" do
      expect(cli("show", 999_999_999).values_at(1, 2)).to match([/task 999999999 not found/, 3])
      expect(cli("show", "abc").values_at(1, 2)).to match([/TASK_ID must be a positive integer, got "abc"/, 2])
      expect(cli("show").last).to eq(2)
    end
  end

  describe "retry and cancel" do
    it "retries a task in error and refuses, changing nothing, a task in another state" do
      failed = failed_task
      done = complete_task
      out, _err, code = cli("retry", failed, "--reason", "fixed the card")
      expect([code, out]).to eq([0, "task #{failed}: retried, now pending\n"])
      expect(state(failed)).to eq("pending")

      out, err, code = cli("retry", done)
      expect([code, out]).to eq([1, ""])
      expect(err).to include("task #{done}: refused: task #{done} cannot go from complete to pending")
      expect(state(done)).to eq("complete")
    end

    it "reports each of several ids: refused, not found and done, each all or nothing" do
      failed = failed_task
      done = complete_task
      res = JSON.parse(cli("retry", failed, done, 999_999_999, "--json").first)
      expect(res["done"]).to eq(1)
      expect(res["results"].map { |r| [r["id"], r["ok"], r["error"]&.fetch("code")] })
        .to eq([[failed, true, nil], [done, false, "invalid_transition"], [999_999_999, false, "not_found"]])
      expect([state(failed), state(done)]).to eq(%w[pending complete])
      expect(cli("retry", failed, done, 999_999_999).last).to eq(1) # now both refused
      expect(cli("cancel", 999_999_998, 999_999_999).last).to eq(3)
    end

    it "checks every id before touching any" do
      failed = failed_task
      _out, err, code = cli("cancel", failed, "12x")
      expect([code, err]).to match([2, /TASK_ID must be a positive integer, got "12x"/])
      expect(state(failed)).to eq("error")
      expect(cli("cancel").last).to eq(2)
    end

    it "cancels tasks, with a progress line only on a terminal" do
      ids = Array.new(5) { handler.initialize_task(context: {}).task_id }
      out, err, code = cli("cancel", *ids)
      expect(code).to eq(0)
      expect(out.lines.last).to eq("5 of 5 tasks cancelled\n")
      expect(err).to eq("")
      expect(ids.map { |id| state(id) }.uniq).to eq(["cancelled"])

      more = Array.new(5) { handler.initialize_task(context: {}).task_id }
      screen = +""
      PTY.spawn({ "DATABASE_URL" => SpecDatabase.url }, RbConfig.ruby, "-I", Subprocess::LIB, exe, "cancel",
                *more.map(&:to_s)) do |r, _w, pid|
        begin
          r.each_char { |c| screen << c }
        rescue Errno::EIO
          nil # the terminal closed: the process is done
        end
        Process.wait(pid)
      end
      expect($?.exitstatus).to eq(0)
      expect(screen).to include("\rcancel: 1/5", "\rcancel: 5/5")
      expect(more.map { |id| state(id) }.uniq).to eq(["cancelled"])
    end
  end

  describe "resolve" do
    it "resolves a failed step so its children run, and refuses a finished one" do
      id = failed_task
      step = TaskerCore::Engine.task_status(id).step("initialize_data")
      out, _err, code = cli("resolve", step.workflow_step_id, "--reason", "done by hand", "--results", '{"manual":true}')
      expect(code).to eq(0)
      expect(out).to eq("step #{step.workflow_step_id} (initialize_data) resolved manually; " \
                        "task #{id} is #{TaskerCore::Engine.task_status(id).status}\n")
      after = TaskerCore::Engine.task_status(id).step("initialize_data")
      expect([after.status, after.results]).to eq(["resolved_manually", { "manual" => true }])

      out, err, code = cli("resolve", step.workflow_step_id, "--json")
      expect(code).to eq(1)
      expect(err).to include("step #{step.workflow_step_id} cannot be resolved: it is resolved_manually")
      expect(JSON.parse(out)["error"]["code"]).to eq("invalid_transition")
      expect(cli("resolve", 999_999_999).last).to eq(3)
      expect(cli("resolve", step.workflow_step_id, "--results", "{oops").values_at(1, 2)).to match([/--results must be JSON/, 2])
    end
  end

  describe "stuck" do
    it "shows a step whose lease expired and a task no worker can claim, with why" do
      lost = handler.initialize_task(context: {}).task_id
      step = TaskerCore::Engine.task_status(lost).step("initialize_data")
      TaskerCore::Engine.claim_one(step_id: step.workflow_step_id, worker_id: "gone-worker", lease_ms: 50)
      flagged = handler.initialize_task(context: {}).task_id
      # The original Tasker's bug: a pending step left in_process is never claimable.
      flagged_step = TaskerCore::Engine.task_status(flagged).step("initialize_data").workflow_step_id
      SpecDatabase.query("UPDATE tasker_workflow_steps SET in_process = true WHERE workflow_step_id = #{flagged_step}")
      sleep 0.2

      work = json("stuck")["work"]
      lease = work.find { |w| w["task_id"] == lost }
      expect(lease).to include("kind" => "lease_expired", "step_id" => step.workflow_step_id, "step_name" => "initialize_data",
                               "first_seen_at" => nil, "reason" => start_with('the lease of worker "gone-worker" expired'))
      task = work.find { |w| w["task_id"] == flagged }
      expect(task).to include("kind" => "no_runnable_step", "step_id" => nil,
                              "reason" => "1 step pending but marked in_process, so no worker can claim them")

      out, _err, code = cli("stuck")
      expect(code).to eq(0)
      expect(out.lines.first).to match(/\AKIND\s+TASK\s+STEP\s+SEEN\s+WHY/)
      expect(out).to match(/^lease_expired\s+#{lost}\s+initialize_data \(#{step.workflow_step_id}\)\s+now\s+the lease of worker "gone-worker"/)
      expect(out).to match(/^no_runnable_step\s+#{flagged}\s+-\s+now\s+1 step pending but marked in_process/)
      expect(cli("stuck", "--limit", "0").values_at(1, 2)).to match([/--limit must be within 1..1000, got 0/, 2])
    end
  end

  describe "stats" do
    it "counts tasks and open steps by state, the ready steps and each minute's throughput" do
      failed_task
      complete_task
      s = json("stats", "--minutes", "3")
      expect(s["tasks"].keys).to match_array(TaskerCore::Operations::TASK_STATES)
      expect(s["tasks"]["error"]).to be >= 1
      expect(s["tasks"]["complete"]).to be >= 1
      expect(s["open_steps"]["error"]).to be >= 1
      expect(s["throughput"].size).to eq(3)
      expect(s["throughput"].sum { |m| m["completed"] }).to be >= 6
      expect(s["throughput"].sum { |m| m["failed"] }).to be >= 1
      expect(s["stuck"].keys).to match_array(%w[lease_expired past_timeout no_runnable_step])

      out, _err, code = cli("stats", "--minutes", "2")
      expect(code).to eq(0)
      expect(out).to match(/^tasks:\s+pending \d+\s+in_progress \d+\s+complete \d+/)
      expect(out).to include("ready steps: ", "throughput per minute")
      expect(cli("stats", "--minutes", "0").values_at(1, 2)).to match([/--minutes must be within 1..1440, got 0/, 2])
    end
  end
end
