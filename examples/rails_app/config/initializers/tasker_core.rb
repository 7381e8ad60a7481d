# frozen_string_literal: true

# Every template under config/tasker/templates; handler classes are looked up
# through the autoloader when a step first needs them.
Dir[Rails.root.join("config/tasker/templates/*.yml")].sort.each do |path|
  TaskerCore::TaskHandler::Base.new(config_path: path)
end
