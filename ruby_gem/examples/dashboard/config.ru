# frozen_string_literal: true

# The tasker_core dashboard on its own, behind HTTP basic auth:
#
#   DATABASE_URL=postgres://... TASKER_WEB_USER=ops TASKER_WEB_PASSWORD=... \
#   TASKER_WEB_SECRET=$(ruby -rsecurerandom -e 'puts SecureRandom.hex(32)') \
#     rackup examples/dashboard/config.ru -p 9292
#
# Every page and action needs the user and password; the authorization hook
# lets the signed-in user read, and act only when TASKER_WEB_READ_ONLY is
# not set. TASKER_WEB_SECRET signs the CSRF cookie (the same value in every
# process serving the dashboard).
require "tasker_core/web"

TaskerCore.configure { |c| c.database_url = ENV.fetch("DATABASE_URL") }

user = ENV.fetch("TASKER_WEB_USER")
password = ENV.fetch("TASKER_WEB_PASSWORD")
use Rack::Auth::Basic, "tasker_core" do |given_user, given_password|
  # & (not &&): compare both, so the time taken says nothing about which was wrong
  Rack::Utils.secure_compare(given_user, user) & Rack::Utils.secure_compare(given_password, password)
end

read_only = !ENV.fetch("TASKER_WEB_READ_ONLY", "").empty?
run TaskerCore::Web.new(
  authorize_read: ->(env, _action) { env["REMOTE_USER"] == user },
  authorize: ->(env, _action) { env["REMOTE_USER"] == user && !read_only }
)
