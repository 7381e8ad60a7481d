# frozen_string_literal: true

require_relative "boot"

require "rails"
require "active_record/railtie"
require "action_controller/railtie"
require "active_job/railtie"

Bundler.require(*Rails.groups)

module RailsApp
  # An onboarding service: POST /signups records a signup and starts its
  # onboarding workflow in the same transaction; a tasker_core worker runs
  # the steps (app/step_handlers/onboarding), which use Active Record.
  class Application < Rails::Application
    config.load_defaults 6.1
    config.api_only = true
  end
end
