# frozen_string_literal: true

require "rails/generators"
require "tasker_core"
require_relative "../handler_files"

module TaskerCore
  module Generators
    # rails generate tasker_core:template process_order --namespace fulfillment --steps validate charge ship
    # writes config/tasker/templates/fulfillment/process_order.yaml (each
    # step depending on the one before, unless --no-chain) and one handler
    # class per step, Fulfillment::ProcessOrder::ValidateHandler and so on,
    # with specs. The install generator's initializer registers the template
    # at boot.
    class TemplateGenerator < Rails::Generators::NamedBase
      include HandlerFiles

      source_root File.expand_path("templates", __dir__)
      desc "Adds a task template (YAML) and a step handler class per step"
      class_option :namespace, type: :string, default: "default", desc: "The template's namespace_name (workers claim by namespace)"
      class_option :steps, type: :array, default: [], banner: "a b c", desc: "The step names, in order"
      class_option :chain, type: :boolean, default: true, desc: "Each step depends on the one before (--no-chain: none depends on another)"
      class_option :template_version, type: :string, default: "1.0.0", desc: "The template's version"
      class_option :spec, type: :boolean, default: true, desc: "Write a spec per handler under spec/step_handlers"

      def check_names
        check_name!("template name", template_name)
        check_name!("namespace", namespace_name)
        raise Rails::Generators::Error, "give the steps, in order: --steps validate charge ship" if steps.empty?

        steps.each { |step| check_name!("step", step) }
        duplicated = steps.tally.select { |_, n| n > 1 }.keys
        raise Rails::Generators::Error, "step names must be unique; repeated: #{duplicated.join(', ')}" unless duplicated.empty?
      end

      def create_template
        template "template.yaml.tt", template_path
      end

      def create_handlers
        steps.each_with_index do |step, i|
          create_handler_files("#{namespace_name}/#{template_name}/#{step}",
                               step: step, parents: parents_of(i), template_path: template_path,
                               task: [namespace_name, template_name, options[:template_version]])
        end
      end

      private

      def template_name
        file_name
      end

      def namespace_name
        options[:namespace]
      end

      def steps
        options[:steps]
      end

      def template_path
        "config/tasker/templates/#{namespace_name}/#{template_name}.yaml"
      end

      def parents_of(index)
        options[:chain] && index.positive? ? [steps[index - 1]] : []
      end

      def handler_class_of(step)
        [namespace_name, template_name, step].map(&:camelize).join("::") + "Handler"
      end
    end
  end
end
