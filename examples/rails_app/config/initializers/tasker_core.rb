# frozen_string_literal: true

# tasker_core: this environment's settings from config/tasker.yml, then every
# task template under config/tasker/templates. Nothing here touches the
# database: each process registers the templates with the engine on its
# first engine call (after any fork), and looks a step handler class up
# (app/step_handlers, through the autoloader) when a step first needs it.
settings = Rails.application.config_for(:tasker) || {}
TaskerCore.configure do |config|
  settings.each { |key, value| config[key] = value unless value.nil? }
  # Told of every exception a step handler raises:
  # config.error_reporter = ->(error, context) { Sentry.capture_exception(error, extra: context) }
end

Dir[Rails.root.join("config/tasker/templates/**/*.{yml,yaml}").to_s].sort.each do |path|
  TaskerCore.register_template(path)
end
