# frozen_string_literal: true

namespace :tasker_core do
  desc "Apply tasker_core's database migrations"
  task migrate: :environment do
    result = TaskerCore.migrate
    puts "tasker_core schema at version #{result['current_version']}"
  end

  desc "Run a tasker_core worker (THREADS, NAMESPACES=a,b or all; default the registered handlers', DEADLINE, " \
       "METRICS_PORT, METRICS_HOST) until TERM/INT"
  task worker: :environment do
    Rails.application.eager_load!
    opts = {}
    opts[:threads] = Integer(ENV["THREADS"]) if ENV["THREADS"]
    opts[:namespaces] = ENV["NAMESPACES"].split(",") if ENV["NAMESPACES"]
    opts[:metrics_port] = Integer(ENV["METRICS_PORT"]) if ENV["METRICS_PORT"]
    opts[:metrics_host] = ENV["METRICS_HOST"] if ENV["METRICS_HOST"]
    worker = TaskerCore::Worker.new(**opts)
    worker.run(deadline: Float(ENV.fetch("DEADLINE", "25")))
    abort "tasker_core: the worker stopped on a fatal error: #{worker.fatal_error.message}" if worker.fatal_error
  end
end
