# frozen_string_literal: true

require "json"
require "rack"
require "rack/query_parser"
require "rack/request"
require "rack/utils"
require "securerandom"
require_relative "../tasker_core"
require_relative "web/html"
require_relative "web/csrf"
require_relative "web/params"
require_relative "web/view"
require_relative "web/dag_svg"
require_relative "web/controller"
require_relative "web/pages"
require_relative "web/actions"

module TaskerCore
  # The operations dashboard as a Rack app: tasks by state with search and
  # keyset pages, a task's DAG as SVG with each step's results, errors,
  # attempts and transitions, stuck and failed work with bulk retry, and
  # actions (retry, cancel, resolve) behind CSRF protection and the app's
  # authorization hook; /metrics (Prometheus) and /health. Server-rendered
  # HTML and SVG, no JavaScript.
  #
  #   # config/routes.rb
  #   mount TaskerCore::Web.new(authorize: ->(env, action) { env["warden"]&.user&.admin? }) => "/tasker"
  #
  # authorize is called with the Rack env and the action: :read (every
  # page), :metrics, :retry_task, :cancel_task, :resolve_step or
  # :retry_tasks; a truthy answer allows it. authorize_read, when given,
  # answers :read and :metrics instead. Without a hook everything but
  # /health is refused (403): the dashboard shows task contexts and results.
  class Web
    # An answer other than 200 with a message for a person.
    class HttpError < StandardError
      attr_reader :status, :headers

      def initialize(status, message, headers = {})
        super(message)
        @status = status
        @headers = headers
      end
    end

    class BadRequest < HttpError
      def initialize(message) = super(400, message)
    end

    class Forbidden < HttpError
      def initialize(message) = super(403, message)
    end

    Route = Struct.new(:verb, :pattern, :handler, :permission)
    # The first route whose path matches decides: another verb is a 405.
    ROUTES = [
      Route.new("POST", %r{\A/tasks/retry\z}, :retry_tasks, :retry_tasks),
      Route.new("POST", %r{\A/tasks/([^/]+)/retry\z}, :retry_task, :retry_task),
      Route.new("POST", %r{\A/tasks/([^/]+)/cancel\z}, :cancel_task, :cancel_task),
      Route.new("POST", %r{\A/steps/([^/]+)/resolve\z}, :resolve_step, :resolve_step),
      Route.new("GET", %r{\A/?\z}, :index, :read),
      Route.new("GET", %r{\A/tasks/([^/]+)\z}, :task, :read),
      Route.new("GET", %r{\A/stuck\z}, :stuck, :read),
      Route.new("GET", %r{\A/metrics\z}, :metrics, :metrics),
      Route.new("GET", %r{\A/health\z}, :health, nil),
      Route.new("GET", %r{\A/app\.css\z}, :stylesheet, nil)
    ].freeze
    MAX_BODY = 2_000_000
    # What Rack raises for parameters it cannot parse (the set differs
    # between Rack 2.2 releases).
    PARAM_ERRORS = %i[ParameterTypeError InvalidParameterError ParamsTooDeepError QueryLimitError]
                   .filter_map { |n| Rack::QueryParser.const_get(n) if Rack::QueryParser.const_defined?(n) }.uniq.freeze
    NO_HOOK = "TaskerCore::Web has no authorization hook, so it allows nothing: mount " \
              "TaskerCore::Web.new(authorize: ->(env, action) { ... }) (and optionally authorize_read:)"

    attr_reader :logger

    # authorize / authorize_read: callables (env, action) -> truthy to
    # allow. secret: signs the CSRF cookie (at least 32 characters); else
    # ENV["TASKER_WEB_SECRET"], else one derived from the Rails app's
    # secret_key_base, else a random one per process (tokens then fail
    # across processes and restarts: set one when running several).
    def initialize(authorize: nil, authorize_read: nil, secret: nil, logger: nil)
      { authorize: authorize, authorize_read: authorize_read }.each do |name, hook|
        raise ArgumentError, "#{name} must respond to call(env, action), got #{hook.inspect}" unless hook.nil? || hook.respond_to?(:call)
      end
      if secret && !(secret.is_a?(String) && secret.bytesize >= 32)
        raise ArgumentError, "secret must be a String of at least 32 characters"
      end

      @authorize = authorize
      @authorize_read = authorize_read
      @secret = secret
      @logger = logger
      @csrf_lock = Mutex.new
    end

    def call(env)
      request = Rack::Request.new(env)
      route, captures = route_for(request)
      authorize!(route.permission, env) if route.permission
      if route.verb == "POST"
        raise HttpError.new(413, "request body over #{MAX_BODY} bytes") if request.content_length.to_i > MAX_BODY
        raise Forbidden, "invalid or missing CSRF token: reload the page and try again (nothing was changed)" unless csrf.valid?(request)
      end
      controller(request).dispatch(route.handler, captures)
    rescue HttpError, Error => e
      controller(request).failure(e)
    rescue *PARAM_ERRORS, EOFError => e
      controller(request).failure(BadRequest.new("malformed parameters: #{e.message[0, 200]}"))
    end

    # Resolved on the first request (Rails' secrets are loaded by then),
    # once: two threads must not sign with two random secrets.
    def csrf = @csrf || @csrf_lock.synchronize { @csrf ||= Csrf.new(resolve_secret) }

    def log = @logger || TaskerCore.logger

    private

    def controller(request) = Controller.new(self, request)

    def route_for(request)
      path = request.path_info.to_s
      verb = request.request_method == "HEAD" ? "GET" : request.request_method
      route = ROUTES.find { |r| r.pattern.match?(path) } or
        raise HttpError.new(404, "no page at #{path.inspect}")
      unless route.verb == verb
        raise HttpError.new(405, "#{request.request_method} is not allowed here; use #{route.verb}", "Allow" => route.verb)
      end

      [route, route.pattern.match(path).captures]
    end

    def authorize!(permission, env)
      read = %i[read metrics].include?(permission)
      hook = read && @authorize_read ? @authorize_read : @authorize
      raise Forbidden, NO_HOOK if hook.nil?
      raise Forbidden, "not allowed: #{permission} (the app's authorization hook refused it)" unless hook.call(env, permission)
    end

    def resolve_secret
      @secret || ENV["TASKER_WEB_SECRET"].then { |s| s unless s.to_s.empty? } || rails_secret || random_secret
    end

    def rails_secret
      return nil unless defined?(::Rails) && ::Rails.respond_to?(:application) && ::Rails.application

      ::Rails.application.key_generator.generate_key("tasker_core/web csrf", 64).unpack1("H*")
    rescue StandardError
      nil
    end

    def random_secret
      log.warn("tasker_core: TaskerCore::Web has no secret (secret:, TASKER_WEB_SECRET or Rails' secret_key_base): " \
               "its CSRF tokens last until this process restarts and fail in other processes")
      SecureRandom.hex(32)
    end
  end
end
