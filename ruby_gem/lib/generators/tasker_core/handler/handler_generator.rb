# frozen_string_literal: true

require "rails/generators"
require "tasker_core"
require_relative "../handler_files"

module TaskerCore
  module Generators
    # rails generate tasker_core:handler billing/charge_card
    # writes Billing::ChargeCardHandler (app/step_handlers/billing/charge_card_handler.rb)
    # and spec/step_handlers/billing/charge_card_handler_spec.rb.
    class HandlerGenerator < Rails::Generators::NamedBase
      include HandlerFiles

      source_root HandlerFiles::TEMPLATES
      desc "Adds a step handler class under app/step_handlers and its spec"
      class_option :step, type: :string, desc: "The step it runs (default: the handler's name)"
      class_option :spec, type: :boolean, default: true, desc: "Write spec/step_handlers/..._spec.rb"

      def create_handler
        path = file_path.delete_suffix("_handler")
        path.split("/").each { |part| check_name!("handler path part", part) }
        create_handler_files(path, step: options[:step] || File.basename(path))
      end
    end
  end
end
