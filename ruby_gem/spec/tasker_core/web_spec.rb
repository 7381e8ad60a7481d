# frozen_string_literal: true

require "rack/test"
require "tasker_core/web"
require_relative "../support/dashboard"
require_relative "../support/prometheus"

# TaskerCore::Web through Rack::Test, on tasks the engine really ran in this
# process: every page and action, the authorization hook, CSRF, bad input,
# escaping.
RSpec.describe TaskerCore::Web do
  include Rack::Test::Methods
  include DashboardTasks

  allow_all = ->(_env, _action) { true }

  let(:ns) { DashboardTasks.namespace }
  let(:handler) { DashboardTasks.handler(ns) }
  let(:web) { described_class.new(authorize: allow_all, secret: "s" * 32) }
  let(:app) { web }

  def state(task_id) = TaskerCore::Engine.task_status(task_id).status

  def token(body = last_response.body)
    body[/name="authenticity_token" value="([^"]+)"/, 1] or raise "no CSRF field in #{body[0, 300]}"
  end

  # A token for forms: the field of a page with forms, its cookie now in the jar.
  def form_token(path = "/stuck")
    get path
    expect(last_response.status).to eq(200), last_response.body[0, 500]
    token
  end

  def text(body = last_response.body) = body.gsub(/<[^>]+>/, " ").squeeze(" ")

  describe "authorization" do
    it "refuses every page and action without a hook, naming the fix, and changes nothing" do
      failed = failed_task(handler)
      app = described_class.new
      %w[/ /stuck /metrics].push("/tasks/#{failed}").each do |path|
        response = Rack::MockRequest.new(app).get(path)
        expect(response.status).to eq(403), path
        expect(response.body).to include("has no authorization hook", "authorize: -&gt;(env, action)")
      end
      response = Rack::MockRequest.new(app).post("/tasks/#{failed}/retry", params: { "authenticity_token" => "x" })
      expect(response.status).to eq(403)
      expect(state(failed)).to eq("error")
      expect(Rack::MockRequest.new(app).get("/health").status).to eq(200) # probes need no hook
      expect(Rack::MockRequest.new(app).get("/app.css").status).to eq(200)
    end

    it "asks authorize_read for pages and authorize for actions, refusing what they refuse" do
      failed = failed_task(handler)
      asked = []
      web = described_class.new(authorize_read: ->(_env, action) { asked << [:read, action] },
                                authorize: ->(_env, action) { asked << [:act, action] && false }, secret: "s" * 32)
      @app = web
      def app = @app

      get "/tasks/#{failed}"
      expect(last_response.status).to eq(200)
      post "/tasks/#{failed}/retry", "authenticity_token" => token
      expect(last_response.status).to eq(403)
      expect(last_response.body).to include("not allowed: retry_task")
      expect(state(failed)).to eq("error")
      get "/metrics"
      expect(asked).to eq([%i[read read], %i[act retry_task], %i[read metrics]])
    end

    it "passes each action's name and the env to one hook" do
      failed = failed_task(handler)
      seen = []
      @app = described_class.new(authorize: ->(env, action) { seen << [action, env["PATH_INFO"]] }, secret: "s" * 32)
      def app = @app

      post "/tasks/#{failed}/cancel", "authenticity_token" => form_token("/tasks/#{failed}")
      expect(last_response.status).to eq(303)
      expect(seen).to eq([[:read, "/tasks/#{failed}"], [:cancel_task, "/tasks/#{failed}/cancel"]])
      expect(state(failed)).to eq("cancelled")
    end

    it "refuses to be built with a hook that cannot be called or a short secret" do
      expect { described_class.new(authorize: true) }.to raise_error(ArgumentError, /authorize must respond to call/)
      expect { described_class.new(authorize_read: "yes") }.to raise_error(ArgumentError, /authorize_read/)
      expect { described_class.new(authorize: allow_all, secret: "short") }.to raise_error(ArgumentError, /at least 32/)
    end
  end

  describe "the index" do
    it "lists tasks newest first with their state, counts by state and keyset pages" do
      ids = [failed_task(handler), complete_task(handler), pending_task(handler)]
      get "/", "namespace" => ns
      expect(last_response.status).to eq(200)
      expect(last_response.headers["Content-Type"]).to eq("text/html; charset=utf-8")
      listed = last_response.body.scan(%r{href="/tasks/(\d+)"}).flatten.map(&:to_i)
      expect(listed.first(3)).to eq(ids.reverse)
      expect(last_response.body).to include(%(<span class="state state-error">error</span>), "#{ns}/fulfillment_order@1.0.0")

      get "/", "namespace" => ns, "state" => "error"
      expect(last_response.body.scan(%r{href="/tasks/(\d+)"}).flatten.map(&:to_i)).to include(ids[0])
      expect(last_response.body).not_to include(%(href="/tasks/#{ids[1]}"))

      get "/", "namespace" => ns, "limit" => "2"
      expect(last_response.body.scan(%r{<td><a href="/tasks/(\d+)"}).flatten.map(&:to_i)).to eq(ids.reverse.first(2))
      older = last_response.body[/<a rel="next" href="([^"]+)"/, 1]
      expect(older).to include("before=#{ids[1]}", "limit=2", "namespace=#{ns}")
      get older.gsub("&amp;", "&")
      expect(last_response.body.scan(%r{<td><a href="/tasks/(\d+)"}).flatten.map(&:to_i)).to eq([ids[0]])
    end

    it "jumps to a task by id" do
      id = pending_task(handler)
      get "/", "q" => " #{id} "
      expect(last_response.status).to eq(303)
      expect(last_response.headers["Location"]).to eq("/tasks/#{id}")
    end

    it "answers bad filters and huge pages with 400 naming the parameter" do
      {
        { "limit" => "501" } => "limit must be within 1..500, got &quot;501&quot;",
        { "limit" => "0" } => "limit must be within 1..500",
        { "limit" => "ten" } => "limit must be within 1..500, got &quot;ten&quot;",
        { "state" => "runing" } => "state must be one of pending, in_progress",
        { "before" => "-5" } => "before must be a positive integer",
        { "before" => "99999999999999999999" } => "before must be a positive integer below 2^63",
        { "q" => "abc" } => "q (search by task id) must be a positive integer",
        { "name" => "fulfillment_order" } => "name: needs a namespace",
        { "state[]" => "error" } => "state must be a single value, got array"
      }.each do |params, message|
        get "/", params
        expect(last_response.status).to eq(400), "#{params}: #{last_response.status}"
        expect(last_response.body).to include(message), "#{params}: #{text}"
      end
      get "/", "namespace" => "no_such_namespace"
      expect(last_response.status).to eq(404)
      expect(text).to include("no_such_namespace")
    end
  end

  describe "a task's page" do
    it "draws the DAG as SVG with every step, shows results, the error with its backtrace, attempts and history" do
      id = failed_task(handler)
      get "/tasks/#{id}"
      expect(last_response.status).to eq(200)
      body = last_response.body
      svg = body[%r{<svg .*?</svg>}m]
      expect(svg).not_to be_nil
      DashboardTasks::STEPS.each_key do |name|
        expect(svg).to include(%(data-step="#{name}"), ">#{name}</text>")
      end
      expect(svg.scan(/<path class="edge"/).size).to eq(DashboardTasks::STEPS.values.flatten.size)
      expect(svg).to include(%(data-step="charge_payment" data-state="error"), %(data-step="validate_order" data-state="complete"),
                             %(data-step="ship_order" data-state="pending"), "fill=\"#fecaca\"", "fill=\"#bbf7d0\"")
      expect(svg).to match(%r{>error · 1/2 attempts · \d+ ms</text>}) # permanent: no second attempt

      expect(body).to include("TaskerCore::PermanentError</strong>: declined in charge_payment")
      expect(body[%r{<pre class="backtrace">(.*?)</pre>}m, 1]).to include("support/workflows.rb")
      expect(body).to include("&quot;step&quot;: &quot;validate_order&quot;") # results, as JSON
      expect(body).to include(%(action="/tasks/#{id}/retry"), %(action="/tasks/#{id}/cancel"))
      expect(body.scan(%r{action="/steps/\d+/resolve"}).size).to eq(3) # charge (error), ship and notify (pending)
      step_history = body[/id="step-\d+">\s*<h3>charge_payment.*?<\/section>/m]
      expect(text(step_history)).to include("pending", "in progress", "error", "TaskerCore::PermanentError: declined in charge_payment")
      expect(text(body[%r{<h2>Task history</h2>.*}m])).to include("in progress", "error")
    end

    it "answers unknown and malformed ids with 404 and 400" do
      get "/tasks/#{(2**62) + 7}"
      expect(last_response.status).to eq(404)
      expect(text).to include("not found")
      { "abc" => "task id must be a positive integer", "0" => "got &quot;0&quot;", "-1" => "got &quot;-1&quot;",
        "1e3" => "got &quot;1e3&quot;", "9" * 30 => "task id is longer than 20 characters" }.each do |id, message|
        get "/tasks/#{id}"
        expect([last_response.status, last_response.body]).to match([400, include(message)]), id
      end
      get "/no/such/page"
      expect(last_response.status).to eq(404)
    end

    it "escapes results, errors, context and tags: no markup of theirs reaches the page" do
      hostile = DashboardTasks.handler(DashboardTasks.namespace("webxss"), handler: "SpecHandlers::Hostile", retry_limit: 1)
      payload = SpecHandlers::Hostile::PAYLOAD
      id = hostile.initialize_task(context: { "fail" => "ship_order", "note" => payload }, initiator: payload,
                                   tags: [payload], source_system: "<b>src</b>").task_id
      expect(run_task_to_completion(id).status).to eq("error")
      TaskerCore::Engine.cancel_task(task_id: id, reason: payload)

      get "/tasks/#{id}"
      expect(last_response.status).to eq(200)
      body = last_response.body
      expect(body).not_to include("<script", "<img", "<b>src")
      expect(body).to include("&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;", "&lt;b&gt;src&lt;/b&gt;")
      expect(body.scan("&lt;/pre&gt;&lt;script&gt;").size).to be >= 5 # results, error, context, initiator, tags, history
      expect(last_response.headers["Content-Security-Policy"]).to include("default-src 'none'", "style-src 'self'")
      expect(last_response.headers).to include("X-Frame-Options" => "DENY", "X-Content-Type-Options" => "nosniff")
    end

    it "escapes names in the SVG itself" do
      svg = TaskerCore::Web::DagSvg.new([
        { "workflow_step_id" => 1, "name" => %(<script>"x"</script>), "status" => "complete", "depends_on" => [],
          "dependency_level" => 0, "attempts" => 1, "retry_limit" => 3, "duration_ms" => 5 },
        { "workflow_step_id" => 2, "name" => "b&c", "status" => "bogus_state", "depends_on" => [%(<script>"x"</script>)],
          "dependency_level" => 1, "attempts" => 0, "retry_limit" => 3 }
      ]).to_html
      expect(svg).not_to include("<script")
      expect(svg).to include("&lt;script&gt;&quot;x&quot;&lt;/script&gt;", "b&amp;c", "<path class=\"edge\"")
    end
  end

  describe "actions" do
    it "retries, cancels and resolves with a valid token, redirecting to the task" do
      failed = failed_task(handler)
      post "/tasks/#{failed}/retry", "authenticity_token" => form_token("/tasks/#{failed}"), "reason" => "card processor back"
      expect(last_response.status).to eq(303)
      expect(last_response.headers["Location"]).to eq("/tasks/#{failed}?done=retried")
      expect(state(failed)).to eq("pending")
      follow_redirect!
      expect(last_response.body).to include("Task retried")
      reasons = TaskerCore::Operations.history(failed)["task"].map { |t| t["metadata"]["reason"] }
      expect(reasons).to include("card processor back")

      pending = pending_task(handler)
      post "/tasks/#{pending}/cancel", "authenticity_token" => form_token
      expect([last_response.status, state(pending)]).to eq([303, "cancelled"])

      other = failed_task(handler)
      step = TaskerCore::Engine.task_status(other).step("charge_payment")
      post "/steps/#{step.workflow_step_id}/resolve", "authenticity_token" => form_token, "results" => '{"charged": true}'
      expect(last_response.status).to eq(303)
      expect(last_response.headers["Location"]).to eq("/tasks/#{other}?done=resolved#step-#{step.workflow_step_id}")
      resolved = TaskerCore::Engine.task_status(other).step("charge_payment")
      expect([resolved.status, resolved.results]).to eq(["resolved_manually", { "charged" => true }])
    end

    it "refuses forged, missing and foreign tokens with 403 and changes nothing" do
      failed = failed_task(handler)
      mine = form_token("/tasks/#{failed}")
      good_cookie = rack_mock_session.cookie_jar[TaskerCore::Web::Csrf::COOKIE]

      post "/tasks/#{failed}/retry" # no token
      expect(last_response.status).to eq(403)
      expect(last_response.body).to include("invalid or missing CSRF token")
      post "/tasks/#{failed}/retry", "authenticity_token" => "#{mine[0..-3]}AA" # tampered
      expect(last_response.status).to eq(403)
      post "/tasks/#{failed}/retry", "authenticity_token" => ["x"] # not a string
      expect(last_response.status).to eq(403)

      other = Rack::MockRequest.new(web).get("/tasks/#{failed}") # another browser's page and token
      post "/tasks/#{failed}/retry", "authenticity_token" => token(other.body)
      expect(last_response.status).to eq(403)

      token_part = good_cookie.split(".").first
      set_cookie "#{TaskerCore::Web::Csrf::COOKIE}=#{token_part}.#{'0' * 64}" # forged signature
      post "/tasks/#{failed}/retry", "authenticity_token" => mine
      expect(last_response.status).to eq(403)

      signed_elsewhere = described_class.new(authorize: allow_all, secret: "t" * 32)
      other_cookie = Rack::MockRequest.new(signed_elsewhere).get("/").headers["Set-Cookie"][/tasker_core_csrf=([^;]+)/, 1]
      set_cookie "#{TaskerCore::Web::Csrf::COOKIE}=#{other_cookie}"
      post "/tasks/#{failed}/retry", "authenticity_token" => mine
      expect(last_response.status).to eq(403)
      expect(state(failed)).to eq("error")

      set_cookie "#{TaskerCore::Web::Csrf::COOKIE}=#{good_cookie}"
      post "/tasks/#{failed}/retry", "authenticity_token" => mine
      expect([last_response.status, state(failed)]).to eq([303, "pending"])
    end

    it "sets the token cookie HttpOnly and SameSite=Strict, with a fresh mask on every page" do
      failed_task(handler)
      get "/stuck"
      cookie = last_response.headers["Set-Cookie"]
      expect(cookie).to include("tasker_core_csrf=", "path=/", "HttpOnly", "SameSite=Strict")
      first = token
      get "/stuck"
      expect(last_response.headers["Set-Cookie"]).to be_nil # the cookie is kept
      expect(token).not_to eq(first) # masked afresh
    end

    it "answers a wrong state with 409, unknown ids with 404, bad input with 400: nothing changes" do
      done = complete_task(handler)
      failed = failed_task(handler)
      t = form_token("/tasks/#{failed}")
      post "/tasks/#{done}/retry", "authenticity_token" => t
      expect(last_response.status).to eq(409)
      expect(text).to include("cannot go from complete to pending")
      post "/tasks/#{done}/cancel", "authenticity_token" => t
      expect(last_response.status).to eq(409)
      expect(state(done)).to eq("complete")

      post "/tasks/#{(2**62) + 1}/retry", "authenticity_token" => t
      expect(last_response.status).to eq(404)
      post "/steps/#{(2**62) + 1}/resolve", "authenticity_token" => t
      expect(last_response.status).to eq(404)

      step = TaskerCore::Engine.task_status(failed).step("validate_order") # complete: cannot be resolved
      post "/steps/#{step.workflow_step_id}/resolve", "authenticity_token" => t
      expect(last_response.status).to eq(409)
      charge = TaskerCore::Engine.task_status(failed).step("charge_payment")
      post "/steps/#{charge.workflow_step_id}/resolve", "authenticity_token" => t, "results" => "{not json"
      expect([last_response.status, text]).to match([400, include("results must be JSON")])
      post "/tasks/abc/retry", "authenticity_token" => t
      expect(last_response.status).to eq(400)
      post "/tasks/#{failed}/retry", "authenticity_token" => t, "reason" => "x" * 501
      expect([last_response.status, text]).to match([400, include("reason is longer than 500 characters")])
      expect(TaskerCore::Engine.task_status(failed).step("charge_payment").status).to eq("error")
      expect(state(failed)).to eq("error")

      get "/tasks/#{failed}/retry"
      expect([last_response.status, last_response.headers["Allow"]]).to eq([405, "POST"])
      post "/tasks/#{failed}"
      expect(last_response.status).to eq(405)
    end
  end

  describe "stuck and failed work" do
    it "lists tasks in error and retries the checked ones, each on its own" do
      failed = Array.new(2) { failed_task(handler) }
      done = complete_task(handler)
      get "/stuck"
      expect(last_response.status).to eq(200)
      failed.each { |id| expect(last_response.body).to include(%(name="task_ids[]" value="#{id}")) }
      expect(last_response.body).to include("Nothing is stuck.").or include("Not progressing")

      post "/tasks/retry", "authenticity_token" => token, "task_ids" => [*failed.map(&:to_s), done.to_s], "reason" => "bulk"
      expect(last_response.status).to eq(409) # one was refused
      expect(text).to include("Retry: 2 of 3 done", "refused, nothing changed: task #{done} cannot go from complete to pending")
      expect(failed.map { |id| state(id) }).to eq(%w[pending pending])
      expect(state(done)).to eq("complete")
    end

    it "refuses a bulk request with no ids, a malformed id or too many, before retrying any" do
      failed = failed_task(handler)
      t = form_token("/stuck")
      post "/tasks/retry", "authenticity_token" => t
      expect([last_response.status, text]).to match([400, include("task_ids must list the ids")])
      post "/tasks/retry", "authenticity_token" => t, "task_ids" => [failed.to_s, "12x"]
      expect([last_response.status, text]).to match([400, include("task_ids[1] must be a positive integer")])
      post "/tasks/retry", "authenticity_token" => t, "task_ids" => Array.new(501) { |i| (i + 1).to_s }
      expect([last_response.status, text]).to match([400, include("at most 500 ids")])
      post "/tasks/retry", "authenticity_token" => t, "task_ids" => failed.to_s
      expect(last_response.status).to eq(400)
      expect(state(failed)).to eq("error")
    end

    it "shows stuck work with its reason" do
      id = pending_task(handler)
      step = TaskerCore::Engine.task_status(id).step("validate_order")
      # A step marked in_process with no claim: nothing can run it (what `stuck` detects).
      SpecDatabase.query("UPDATE tasker_workflow_steps SET in_process = true WHERE workflow_step_id = #{step.workflow_step_id}")
      get "/stuck"
      expect(last_response.status).to eq(200)
      row = last_response.body[%r{<tr>\s*<td>no runnable step</td>\s*<td><a href="/tasks/#{id}">.*?</tr>}m]
      expect(row).not_to be_nil, text
      expect(text(row)).to include("marked in_process")
    ensure
      SpecDatabase.query("UPDATE tasker_workflow_steps SET in_process = false WHERE workflow_step_id = #{step.workflow_step_id}") if step
      TaskerCore::Engine.cancel_task(task_id: id) if id
    end
  end

  describe "mounted under a path" do
    let(:app) { Rack::URLMap.new("/ops/tasker" => web) }

    it "links, posts and scopes its cookie inside the mount path" do
      failed = failed_task(handler)
      get "/ops/tasker/tasks/#{failed}"
      expect(last_response.status).to eq(200)
      expect(last_response.body).to include(%(href="/ops/tasker/app.css"), %(action="/ops/tasker/tasks/#{failed}/retry"),
                                            %(href="/ops/tasker/stuck"))
      expect(last_response.headers["Set-Cookie"]).to include("path=/ops/tasker")
      post "/ops/tasker/tasks/#{failed}/retry", "authenticity_token" => token
      expect(last_response.headers["Location"]).to eq("/ops/tasker/tasks/#{failed}?done=retried")
      expect(state(failed)).to eq("pending")
    end
  end

  describe "examples/dashboard/config.ru" do
    it "serves the dashboard behind basic auth, read-only when told" do
      failed = failed_task(handler)
      ru = File.expand_path("../../examples/dashboard/config.ru", __dir__)
      script = <<~RUBY
        require "rack"
        require "rack/builder"
        app = Rack::Builder.parse_file(#{ru.inspect})
        app = app.first if app.is_a?(Array) # Rack 2 returns [app, options]
        mock = Rack::MockRequest.new(app)
        auth = { "HTTP_AUTHORIZATION" => "Basic " + ["ops:pw"].pack("m0") }
        page = mock.get("/tasks/#{failed}", auth)
        cookie = page.headers["Set-Cookie"][/tasker_core_csrf=[^;]+/]
        token = page.body[/name="authenticity_token" value="([^"]+)"/, 1]
        puts "anonymous \#{mock.get('/').status}"
        puts "wrong \#{mock.get('/', "HTTP_AUTHORIZATION" => "Basic " + ["ops:no"].pack("m0")).status}"
        puts "page \#{page.status}"
        puts "retry \#{mock.post("/tasks/#{failed}/retry", auth.merge("HTTP_COOKIE" => cookie, params: { "authenticity_token" => token })).status}"
      RUBY
      env = { "DATABASE_URL" => SpecDatabase.url, "TASKER_WEB_USER" => "ops", "TASKER_WEB_PASSWORD" => "pw", "TASKER_WEB_SECRET" => "k" * 64 }
      out, status = Subprocess.ruby(script, env: env.merge("TASKER_WEB_READ_ONLY" => "1"))
      expect(status).to be_success, out
      expect(out.lines.map(&:strip)).to eq(["anonymous 401", "wrong 401", "page 200", "retry 403"])
      expect(state(failed)).to eq("error")
      out, status = Subprocess.ruby(script, env: env)
      expect(status).to be_success, out
      expect(out.lines.last.strip).to eq("retry 303")
      expect(state(failed)).to eq("pending")
    end
  end

  describe "/metrics and /health" do
    it "serves the engine's gauges and this process's step counters in Prometheus' text format" do
      failed_task(handler)
      complete_task(handler)
      get "/metrics"
      expect(last_response.status).to eq(200)
      expect(last_response.headers["Content-Type"]).to eq("text/plain; version=0.0.4; charset=utf-8")
      metrics = PrometheusText.parse(last_response.body)
      stats = TaskerCore::Operations.stats
      TaskerCore::Operations::TASK_STATES.each do |s|
        expect(metrics.value("tasker_tasks", state: s)).to eq(stats["tasks"][s]), s
      end
      expect(metrics.type("tasker_tasks")).to eq("gauge")
      expect(metrics.value("tasker_ready_steps")).to eq(stats["ready_steps"])
      expect(metrics.value("tasker_steps_completed_total", namespace: ns)).to be >= 5 + 2 # run in this process
      expect(metrics.value("tasker_steps_failed_total", namespace: ns)).to be >= 1
      expect(metrics.type("tasker_step_duration_seconds")).to eq("histogram")
      expect(metrics.value("tasker_step_duration_seconds_count", namespace: ns)).to be >= 8
      expect(metrics.value("tasker_library_pool_connections", state: "max")).to eq(8) # the suite's pool_size
      %w[lease_expired past_timeout no_runnable_step].each { |k| expect(metrics.value("tasker_stuck_work", kind: k)).to be >= 0 }
    end

    it "answers /health with 200 and the database's round trip" do
      get "/health"
      expect(last_response.status).to eq(200)
      body = JSON.parse(last_response.body)
      expect(body).to include("status" => "ok", "checks" => { "database" => include("ok" => true, "latency_ms" => be_a(Numeric)) })
    end

    it "answers /health with 503 when the database does not answer" do
      port = TCPServer.new("127.0.0.1", 0).then { |s| s.addr[1].tap { s.close } }
      out, status = Subprocess.ruby(<<~RUBY, env: { "TASKER_WEB_DB" => "postgres://postgres@127.0.0.1:#{port}/none" })
        require "tasker_core/web"
        TaskerCore.configure { |c| c.database_url = ENV["TASKER_WEB_DB"]; c.logger = Logger.new(File::NULL) }
        web = TaskerCore::Web.new(authorize: ->(*) { true })
        health = Rack::MockRequest.new(web).get("/health")
        puts health.status, health.body
        page = Rack::MockRequest.new(web).get("/")
        puts page.status
      RUBY
      expect(status).to be_success, out
      lines = out.lines.map(&:strip)
      expect(lines[0]).to eq("503")
      expect(JSON.parse(lines[1])).to include("status" => "failing", "checks" => { "database" => include("ok" => false, "error" => /DatabaseError/) })
      expect(lines[2]).to eq("503")
    end
  end
end
