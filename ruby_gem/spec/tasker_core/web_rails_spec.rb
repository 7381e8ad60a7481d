# frozen_string_literal: true

require "tmpdir"
require_relative "../support/rails_app"
require_relative "../support/dashboard"

# TaskerCore::Web mounted in a real Rails 6.1 app's routes, its hook reading
# the request as an app's authentication would: pages and an action with
# the CSRF cookie and token work under the mount path; a request the hook
# refuses gets 403 and changes nothing; the CSRF secret comes from the
# app's secret_key_base.
RSpec.describe "TaskerCore::Web mounted in Rails routes" do
  include DashboardTasks

  it "serves pages and actions under the mount path, behind the app's hook" do
    failed = failed_task(DashboardTasks.handler(DashboardTasks.namespace("rails_web")))
    other = failed_task(DashboardTasks.handler(DashboardTasks.namespace("rails_web")))
    Dir.mktmpdir do |dir|
      app = RailsApp.new(dir)
      File.write(File.join(dir, "config/routes.rb"), <<~RUBY)
        require "tasker_core/web"

        Rails.application.routes.draw do
          # An app would ask its session (Devise: env["warden"].user); the spec sends a header.
          mount TaskerCore::Web.new(
            authorize_read: ->(env, _action) { %w[admin viewer].include?(env["HTTP_X_SPEC_ROLE"]) },
            authorize: ->(env, _action) { env["HTTP_X_SPEC_ROLE"] == "admin" }
          ) => "/ops/tasker"
        end
      RUBY
      env = { "RAILS_ENV" => "test", "DATABASE_URL" => SpecDatabase.url, "FAILED" => failed.to_s, "OTHER" => other.to_s }
      out = app.runner!(<<~RUBY, env: env)
        require "rack/mock"
        web = Rack::MockRequest.new(Rails.application)
        admin = { "HTTP_X_SPEC_ROLE" => "admin" }
        page = web.get("/ops/tasker/tasks/\#{ENV['FAILED']}", admin)
        abort "page: \#{page.status} \#{page.headers.inspect} \#{page.body[0, 3000]}" unless page.headers["Set-Cookie"]
        cookie = page.headers["Set-Cookie"][/tasker_core_csrf=[^;]+/]
        token = page.body[/name="authenticity_token" value="([^"]+)"/, 1]
        puts "page \#{page.status} \#{page.body.include?('action="/ops/tasker/tasks/' + ENV['FAILED'] + '/retry"')} \#{page.headers['Set-Cookie'][/path=[^;]+/]}"
        viewer = web.get("/ops/tasker/", "HTTP_X_SPEC_ROLE" => "viewer")
        puts "viewer \#{viewer.status}"
        puts "anonymous \#{web.get('/ops/tasker/').status}"
        refused = web.post("/ops/tasker/tasks/\#{ENV['OTHER']}/retry", "HTTP_X_SPEC_ROLE" => "viewer", "HTTP_COOKIE" => cookie,
                           params: { "authenticity_token" => token })
        puts "viewer retry \#{refused.status} \#{TaskerCore::Engine.task_status(Integer(ENV['OTHER'])).status}"
        forged = web.post("/ops/tasker/tasks/\#{ENV['OTHER']}/retry", admin.merge(params: { "authenticity_token" => token }))
        puts "no cookie \#{forged.status} \#{TaskerCore::Engine.task_status(Integer(ENV['OTHER'])).status}"
        done = web.post("/ops/tasker/tasks/\#{ENV['FAILED']}/retry", admin.merge("HTTP_COOKIE" => cookie, params: { "authenticity_token" => token }))
        puts "retry \#{done.status} \#{done.headers['Location']} \#{TaskerCore::Engine.task_status(Integer(ENV['FAILED'])).status}"
        secret = TaskerCore::Web.new.send(:resolve_secret)
        puts "secret from rails \#{secret == Rails.application.key_generator.generate_key('tasker_core/web csrf', 64).unpack1('H*')}"
      RUBY
      expect(out).to include("page 200 true path=/ops/tasker", "viewer 200", "anonymous 403", "viewer retry 403 error",
                             "no cookie 403 error", "retry 303 /ops/tasker/tasks/#{failed}?done=retried pending",
                             "secret from rails true")
    end
  end
end
