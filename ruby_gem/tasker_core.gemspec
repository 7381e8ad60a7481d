# frozen_string_literal: true

require_relative "lib/tasker_core/version"

Gem::Specification.new do |s|
  s.name = "tasker_core"
  s.version = TaskerCore::VERSION
  s.summary = "Workflow orchestration for Ruby on a Go engine and PostgreSQL"
  s.description = "Task templates as DAGs of Ruby step handlers; claims, retries, backoff and state " \
                  "machines run in libtasker_core (Go, loaded lazily through ffi)."
  s.authors = ["tasker-core contributors"]
  s.license = "MIT"
  s.required_ruby_version = ">= 3.1"
  s.files = Dir["lib/**/*.{rb,rake,tt,erb,css}", "exe/*", "ext/**/extconf.rb", "examples/**/*.{rb,yaml,ru}", "go/**/*"]
  s.bindir = "exe"
  s.executables = ["tasker-core"]
  s.extensions = ["ext/tasker_core/extconf.rb"]
  s.add_dependency "dry-types", ">= 1.2", "< 2"
  s.add_dependency "ffi", "~> 1.15"
  s.add_development_dependency "rspec", "~> 3.12"
end
