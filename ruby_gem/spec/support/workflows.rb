# frozen_string_literal: true

require "yaml"

module SpecHandlers
  # A step whose behaviour the task context steers:
  # context["failures"][step_name] = "retry_once" | "always" | "permanent" | "raise_once".
  class Shape < TaskerCore::StepHandler::Base
    def process(task, sequence, step)
      case task.context.dig("failures", step.name)
      when "retry_once" then raise TaskerCore::RetryableError.new("flaky #{step.name}", retry_after: 0) if step.attempts == 1
      when "raise_once" then raise ArgumentError, "plain error in #{step.name}" if step.attempts == 1
      when "always" then raise "boom in #{step.name} (attempt #{step.attempts})"
      when "permanent" then raise TaskerCore::PermanentError, "declined in #{step.name}"
      end
      # context["read"][step_name]: ancestors whose results the step reads.
      read = Array(task.context.dig("read", step.name)).to_h { |a| [a, sequence.result_of(a)["step"]] }
      { "step" => step.name, "attempt" => step.attempts, "parents" => sequence.step_names.sort, "read" => read,
        "config" => step.config }
    end
  end

  # Returns whatever the task context's "result" holds (round-trip specs).
  class Echo < TaskerCore::StepHandler::Base
    def process(task, _sequence, _step)
      task.context["result"]
    end
  end

  # Returns a value that is not JSON-encodable (kind from the context).
  class BadResult < TaskerCore::StepHandler::Base
    def process(task, _sequence, _step)
      case task.context["kind"]
      when "nan" then { "x" => Float::NAN }
      when "infinity" then [1, Float::INFINITY]
      when "object" then { "at" => Object.new }
      when "time" then { "at" => Time.now }
      else { "sym" => :symbol }
      end
    end
  end
end

# Workflow shapes of the original Tasker's specs, as {step => [dependencies]}.
module Workflows
  SHAPES = {
    linear: { "initialize_data" => [], "validate_input" => ["initialize_data"], "process_data" => ["validate_input"],
              "transform_results" => ["process_data"], "validate_output" => ["transform_results"],
              "finalize_workflow" => ["validate_output"] },
    diamond: { "start_workflow" => [], "branch_one_process" => ["start_workflow"], "branch_two_process" => ["start_workflow"],
               "branch_one_validate" => ["branch_one_process"], "branch_two_validate" => ["branch_two_process"],
               "merge_branches" => %w[branch_one_validate branch_two_validate], "end_workflow" => ["merge_branches"] },
    parallel_merge: { "fetch_a" => [], "fetch_b" => [], "fetch_c" => [], "fetch_d" => [],
                      "process_ab" => %w[fetch_a fetch_b], "process_cd" => %w[fetch_c fetch_d],
                      "merge_all_data" => %w[process_ab process_cd] },
    tree: { "root" => [], "setup_left" => ["root"], "setup_right" => ["root"], "leaf_l1" => ["setup_left"],
            "leaf_l2" => ["setup_left"], "leaf_r1" => ["setup_right"], "leaf_r2" => ["setup_right"],
            "aggregate_results" => %w[leaf_l1 leaf_l2 leaf_r1 leaf_r2] },
    mixed_dag: { "init_auth" => [], "init_config" => [], "validate_permissions" => ["init_auth"],
                 "setup_environment" => ["init_config"], "begin_processing" => %w[validate_permissions setup_environment],
                 "critical_processing" => ["begin_processing"], "optional_processing" => ["begin_processing"],
                 "cleanup_temp_files" => ["begin_processing"],
                 "finalize_and_report" => %w[critical_processing optional_processing cleanup_temp_files] }
  }.freeze

  module_function

  # A template YAML for a shape; retry_limit applies to every step.
  def yaml(name, steps, handler: "SpecHandlers::Shape", namespace: "spec", retry_limit: 3, version: "1.0.0")
    {
      "name" => name, "namespace_name" => namespace, "version" => version,
      "description" => "spec workflow #{name}", "identity_strategy" => "always_unique",
      "step_templates" => steps.map do |step, deps|
        { "name" => step, "handler_class" => handler, "depends_on_steps" => deps,
          "default_retry_limit" => retry_limit, "handler_config" => { "shape" => name } }
      end
    }.to_yaml
  end

  # Builds (and registers) a task handler for a shape.
  def handler(name, steps = SHAPES.fetch(name.to_sym), **opts)
    TaskerCore::TaskHandler::Base.new(yaml: yaml("#{name}_#{opts.delete(:suffix) || 'wf'}", steps, **opts)).register!
  end
end

module SpecHandlers
  # Sleeps context["sleep"] seconds, then returns the thread it ran on.
  class Slow < TaskerCore::StepHandler::Base
    def process(task, _sequence, _step)
      sleep(task.context.fetch("sleep", 0))
      { "thread" => Thread.current.name }
    end
  end
end

module Workflows
  # A task handler whose engine registration waits for the first call.
  def self.handler_unregistered(name, steps, **opts)
    TaskerCore::TaskHandler::Base.new(yaml: yaml(name, steps, **opts))
  end
end

module SpecHandlers
  # Records each step's name in STARTED as it starts, then blocks until the
  # spec pushes to GATE: a handler that is running and cannot finish yet.
  class Gate < TaskerCore::StepHandler::Base
    STARTED = Queue.new
    GATE = Queue.new

    def process(_task, _sequence, step)
      STARTED << step.name
      GATE.pop
      { "ran" => step.name }
    end
  end
end
