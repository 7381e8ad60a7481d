# frozen_string_literal: true

module TaskerCore
  class Web
    # Answers one request, once Web has routed, authorized and checked it:
    # the pages (pages.rb) and actions (actions.rb) are its methods, each
    # returning a Rack response. Errors become a page with the status that
    # says what went wrong (#failure).
    class Controller
      SECURITY_HEADERS = {
        # No script at all, styles only from app.css, forms only to here.
        "Content-Security-Policy" => "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " \
                                     "frame-ancestors 'none'; base-uri 'none'",
        "X-Content-Type-Options" => "nosniff",
        "X-Frame-Options" => "DENY",
        "Referrer-Policy" => "same-origin",
        "Cache-Control" => "no-store"
      }.freeze
      TITLES = { 400 => "Bad request", 403 => "Forbidden", 404 => "Not found", 405 => "Method not allowed",
                 409 => "Refused", 413 => "Request too large", 500 => "Internal error", 503 => "Unavailable" }.freeze
      LayoutPage = Struct.new(:title, :body, keyword_init: true)
      ErrorPage = Struct.new(:status, :title, :message, keyword_init: true)

      attr_reader :request, :view

      def initialize(web, request)
        @web = web
        @request = request
        @token, @fresh = web.csrf.token_for(request)
        @view = View.new(request, web.csrf.masked(@token))
      end

      def dispatch(handler, captures)
        status, headers, body = public_send(handler, *captures)
        [status, headers, request.head? ? [] : body]
      end

      # The page for an HttpError or a TaskerCore::Error: 400 bad input,
      # 403, 404 unknown id, 409 a state that refuses the action, 503 the
      # database. Nothing was changed in any of these cases.
      def failure(error)
        status = status_of(error)
        @web.log.error("tasker_core: TaskerCore::Web #{request.request_method} #{request.path}: #{error.class}: #{error.message}") if status >= 500
        title = TITLES.fetch(status, "Error")
        response = html(status, title, view.render_error(ErrorPage.new(status: status, title: title, message: error.message)))
        response[1].merge!(error.headers) if error.is_a?(HttpError)
        response
      end

      # A full HTML page; sets the CSRF cookie when this request made the token.
      def html(status, title, body)
        headers = { "Content-Type" => "text/html; charset=utf-8" }.merge(SECURITY_HEADERS)
        @web.csrf.set_cookie(headers, request, @token) if @fresh
        [status, headers, [view.render_layout(LayoutPage.new(title: title, body: body))]]
      end

      def redirect(location)
        [303, { "Location" => location, "Content-Type" => "text/plain; charset=utf-8", "Cache-Control" => "no-store" },
         ["see #{location}\n"]]
      end

      def query = request.GET

      def form = request.POST

      private

      def status_of(error)
        case error
        when HttpError then error.status
        when ValidationError then 400
        when NotFoundError then 404
        when InvalidTransitionError, ConflictError, NotReadyError, StaleClaimError, DuplicateTaskError then 409
        when TimeoutError, DatabaseError, NotInitializedError then 503
        else 500
        end
      end
    end
  end
end
