# frozen_string_literal: true

require "time"

module TaskerCore
  class Web
    # What the templates in views/ see: the page's data (+page+) and these
    # helpers. Each template is compiled once into a render_<name>(page)
    # method; its <%= %> escapes unless given Html (see Template). Compiled
    # code resolves constants from ERB's scope, so templates reach ours
    # through helpers.
    class View
      VIEWS = %w[layout index task stuck outcomes error].freeze
      NOTICES = {
        "retried" => "Task retried: its failed steps are pending again and workers will pick them up.",
        "cancelled" => "Task cancelled with its unfinished steps.",
        "resolved" => "Step resolved manually; its dependents may now run."
      }.freeze

      attr_reader :request

      def initialize(request, csrf_field_value)
        @request = request
        @csrf_field_value = csrf_field_value
      end

      VIEWS.each do |name|
        file = File.expand_path("views/#{name}.html.erb", __dir__)
        Template.new(File.read(file), trim_mode: "-").def_method(self, "render_#{name}(page)", file)
      end

      # A path inside the dashboard (wherever it is mounted), with a query.
      def path(*segments, **query)
        base = "#{request.script_name}/#{segments.map { |s| Rack::Utils.escape_path(s.to_s) }.join('/')}"
        query = query.compact.reject { |_, v| v == "" }
        query.empty? ? base : "#{base}?#{Rack::Utils.build_query(query)}"
      end

      def csrf_field
        Html.new(%(<input type="hidden" name="#{Csrf::FIELD}" value="#{Web.escape(@csrf_field_value)}">))
      end

      def state_badge(state)
        Html.new(%(<span class="state state-#{Web.escape(state)}">#{Web.escape(state.to_s.tr('_', ' '))}</span>))
      end

      def time(iso)
        return "—" if iso.nil?

        Time.iso8601(iso.to_s).utc.strftime("%Y-%m-%d %H:%M:%S UTC")
      rescue ArgumentError
        iso.to_s
      end

      def duration(ms) = ms.nil? ? "—" : View.duration(ms)

      # Pretty JSON, cut at +limit+ characters (a huge result stays readable).
      def json(value, limit: 20_000)
        text = JSON.pretty_generate(value, max_nesting: false)
        text.length > limit ? "#{text[0, limit]}\n… (#{text.length - limit} more characters)" : text
      rescue JSON::GeneratorError
        value.inspect
      end

      def notice = NOTICES[request.GET["done"]]

      # Markup the template vouches for (constant attribute text only).
      def raw(text) = Html.new(text)

      def task_states = Operations::TASK_STATES

      def step_states = DagSvg::COLOURS.keys

      def max_attempts(step) = View.max_attempts(step)

      def self.duration(ms)
        ms = ms.to_f
        if ms < 1_000 then "#{ms.round} ms"
        elsif ms < 60_000 then "#{(ms / 1000).round(1)} s"
        elsif ms < 3_600_000 then "#{(ms / 60_000).round(1)} min"
        else "#{(ms / 3_600_000).round(1)} h"
        end
      end

      # How many attempts a step may make: the first always, then
      # retry_limit in all when retryable.
      def self.max_attempts(step) = step["retryable"] == false ? 1 : [step["retry_limit"].to_i, 1].max
    end
  end
end
