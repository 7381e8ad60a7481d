# frozen_string_literal: true

module TaskerCore
  module Generators
    # Writes one step handler class under app/step_handlers and its spec
    # skeleton under spec/step_handlers; shared by tasker_core:handler and
    # tasker_core:template. A path "fulfillment/process_order/validate" is
    # the class Fulfillment::ProcessOrder::ValidateHandler in
    # app/step_handlers/fulfillment/process_order/validate_handler.rb, where
    # Rails' autoloader finds it.
    module HandlerFiles
      TEMPLATES = File.expand_path("handler/templates", __dir__)
      NAME = /\A[a-z][a-z0-9_]*\z/.freeze

      private

      # step: the step name the spec's Step carries; parents: the steps it
      # depends on (the spec hands it their results); task: [namespace,
      # name, version] of its template; template_path: where that is, for
      # the class comment.
      def create_handler_files(path, step:, parents: [], task: nil, template_path: nil)
        parts = path.split("/")
        @handler_modules = parts[0...-1].map(&:camelize)
        @handler_class = "#{parts.last.camelize}Handler"
        @handler_constant = (@handler_modules + [@handler_class]).join("::")
        @step_name = step
        @parents = parents
        @task_namespace, @task_name, @task_version = task || [parts.first || "default", parts[1] || "example", "1.0.0"]
        @template_path = template_path
        template File.join(TEMPLATES, "handler.rb.tt"), "app/step_handlers/#{path}_handler.rb" do |body|
          nest(body, @handler_modules)
        end
        template File.join(TEMPLATES, "handler_spec.rb.tt"), "spec/step_handlers/#{path}_handler_spec.rb" if options[:spec]
      end

      # The class body inside `module A; module B` (two spaces per level).
      def nest(body, modules)
        inner = body.gsub(/^(?=.)/, "  " * modules.size)
        opening = modules.each_with_index.map { |m, i| "#{'  ' * i}module #{m}\n" }.join
        closing = (modules.size - 1).downto(0).map { |i| "#{'  ' * i}end\n" }.join
        "# frozen_string_literal: true\n\n#{opening}#{inner}#{closing}"
      end

      def check_name!(kind, value)
        return if NAME.match?(value.to_s)

        raise Rails::Generators::Error, "#{kind} #{value.inspect} must be snake_case (a-z, 0-9, _; a letter first): " \
                                        "it names a Ruby class and a file"
      end
    end
  end
end
