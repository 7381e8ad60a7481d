# frozen_string_literal: true

require "yaml"
require_relative "workflows"

# Handlers and helpers for the worker specs (spec/tasker_core/worker_spec.rb,
# processor_spec.rb, cli_worker_spec.rb). Loaded by those specs and, through
# spec/fixtures/worker/handlers.rb, by `tasker-core worker` subprocesses.
module SpecHandlers
  # An Exception that is not a StandardError.
  class CustomException < Exception # rubocop:disable Lint/InheritException
  end

  # Raises what context["raise"] names, on the first attempt only:
  # "custom" (CustomException), "no_memory" (NoMemoryError), "exit"
  # (SystemExit, as a handler calling exit would).
  class Raiser < TaskerCore::StepHandler::Base
    def process(task, _sequence, step)
      if step.attempts == 1
        case task.context["raise"]
        when "custom" then raise CustomException, "custom exception in #{step.name}"
        when "no_memory" then raise NoMemoryError, "failed to allocate memory (pretend)"
        when "exit" then exit(3)
        end
      end
      { "step" => step.name, "attempt" => step.attempts }
    end
  end

  # Sleeps context["sleep"] seconds on the first attempt (0 later); records
  # in EVENTS how the sleep ended.
  class Overrun < TaskerCore::StepHandler::Base
    EVENTS = Queue.new

    def process(task, _sequence, step)
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      sleep(task.context.fetch("sleep", 0)) if step.attempts == 1
      EVENTS << [step.name, step.attempts, :finished]
      { "attempt" => step.attempts, "thread" => Thread.current.name }
    rescue TaskerCore::StepTimeoutError
      EVENTS << [step.name, step.attempts, :interrupted, Process.clock_gettime(Process::CLOCK_MONOTONIC) - started]
      raise
    end
  end

  # Swallows the watchdog's StepTimeoutError and goes on sleeping: a handler
  # the worker has to abandon.
  class Stubborn < TaskerCore::StepHandler::Base
    def process(_task, _sequence, _step)
      sleep 60
    rescue TaskerCore::StepTimeoutError
      sleep 60
    end
  end
end

module WorkerSpecs
  module_function

  # Registers a one-level workflow of +steps+ (names) run by +handler+,
  # each step with timeout_seconds when given. Returns the task handler.
  def handler(name, steps, handler:, namespace:, timeout_seconds: nil, retry_limit: 3)
    doc = YAML.safe_load(Workflows.yaml(name, steps.to_h { |s| [s, []] }, handler: handler, namespace: namespace,
                                                                        retry_limit: retry_limit))
    doc["step_templates"].each { |st| st["timeout_seconds"] = timeout_seconds } if timeout_seconds
    TaskerCore::TaskHandler::Base.new(yaml: doc.to_yaml).register!
  end

  # The live processor threads of this process ("tasker_core.worker.<n>",
  # abandoned ones excluded).
  def processor_threads
    Thread.list.select { |t| t.alive? && t.name.to_s.match?(/\Atasker_core\.worker\.\d+\z/) }
  end

  def wait_until(timeout: 20, interval: 0.05)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    sleep interval until (done = yield) || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
    done
  end
end
