# frozen_string_literal: true

require "open3"
require "timeout"

# Runs a Ruby script in a fresh process (fork+exec: safe whatever this
# process has loaded) with the gem on the load path and the suite's config.
module Subprocess
  LIB = File.expand_path("../../lib", __dir__)

  module_function

  # Returns [stdout+stderr, Process::Status]; kills the child after +timeout+.
  def ruby(script, timeout: 30, env: {})
    env = { "TASKER_SPEC_DATABASE_URL" => SpecDatabase.url }.merge(env)
    out = +""
    status = nil
    Open3.popen2e(env, RbConfig.ruby, "-I", LIB, "-e", script, pgroup: true) do |stdin, io, wait|
      stdin.close
      reader = Thread.new { io.read }
      unless wait.join(timeout)
        Process.kill("KILL", -wait.pid)
        raise "subprocess did not finish within #{timeout}s: #{reader.join(1) && reader.value}"
      end
      out = reader.value
      status = wait.value
    end
    [out, status]
  end
end
