# frozen_string_literal: true

module TaskerCore
  module TaskHandler
    # One task template and its step handlers. The constructor loads the YAML,
    # validates it, instantiates every step handler once (O(1) lookup by step
    # name afterwards) and registers with OrchestrationManager, which registers
    # the template with the engine now if the library is already loaded in this
    # process, else on its first call: defining handlers in a Puma master with
    # preload_app! never loads the Go runtime there. #register! forces it.
    #
    #   handler = TaskerCore::TaskHandler::Base.new(config_path: "config/tasker/order.yaml")
    #   result = handler.initialize_task(context: { "order_id" => 1 })
    class Base
      attr_reader :namespace, :name, :version, :template, :spec, :step_handlers

      # Raises ValidationError for bad YAML, a bad shape or a step handler
      # class that is not defined (naming the class and the step).
      def initialize(config_path: nil, yaml: nil, template: nil, register: true)
        @template = template || Template.load(path: config_path, yaml: yaml)
        @spec = Template.to_spec(@template)
        @namespace = @spec[:namespace]
        @name = @spec[:name]
        @version = @spec[:version]
        @step_handlers = build_step_handlers.freeze
        @registered = false
        OrchestrationManager.instance.register(self) if register
      end

      # Builds the handler named by the YAML's task_handler_class (default Base).
      def self.from_yaml(path, register: true)
        doc = Template.load(path: path)
        klass = doc[:task_handler_class] ? resolve_handler(doc[:task_handler_class], path) : self
        klass.new(template: doc, register: register)
      end

      def self.resolve_handler(name, path)
        klass = ClassResolver.resolve(name)
        return klass if klass.is_a?(Class) && klass <= Base

        raise ValidationError, "template #{path}: task_handler_class #{name} is not a TaskerCore::TaskHandler::Base"
      rescue NameError => e
        raise ValidationError, "template #{path}: task_handler_class #{name} is not defined (#{e.message})"
      end

      def key
        "#{namespace}/#{name}@#{version}"
      end

      # Registers the template with the engine (blocks; idempotent). Raises
      # ValidationError for an invalid DAG (unknown dependency, cycle, ...),
      # ConflictError when this version was registered with another shape.
      def register!
        return self if @registered

        Engine.register_template(spec)
        @registered = true
        self
      end

      def registered?
        @registered
      end

      # Creates a task of this template; request needs :context, and may give
      # :initiator, :reason, :tags, :idempotency_key... Returns InitializeResult.
      def initialize_task(request)
        raise ValidationError, "initialize_task: expected a Hash, got #{request.class}" unless request.is_a?(Hash)

        register!
        Engine.initialize_task({ namespace: namespace, name: name, version: version }.merge(request.transform_keys(&:to_sym)))
      end

      def task_status(task_id)
        Engine.task_status(task_id)
      end

      def execution_context(task_id)
        Engine.execution_context(task_id)
      end

      # Runs the pre-instantiated handler of step.name and returns its results.
      def process_step_with_handler(task, sequence, step)
        get_step_handler_from_name(step.name).process(task, sequence, step)
      end

      # The handler instance for a step name; raises NotFoundError.
      def get_step_handler_from_name(step_name)
        @step_handlers.fetch(step_name.to_s) do
          raise NotFoundError, "#{key} has no step #{step_name.to_s.inspect}; steps: #{@step_handlers.keys.join(', ')}"
        end
      end

      def inspect
        "#<#{self.class} #{key} steps=#{@step_handlers.keys.inspect}>"
      end

      private

      def build_step_handlers
        @template[:step_templates].each_with_index.to_h do |st, i|
          [st[:name], instantiate(st, i)]
        end
      end

      def instantiate(step_template, index)
        where = "template #{key}: step_templates[#{index}] (#{step_template[:name]})"
        klass = begin
          ClassResolver.resolve(step_template[:handler_class])
        rescue NameError => e
          raise ValidationError.new("#{where}: handler_class #{step_template[:handler_class]} is not defined (#{e.message})",
                                    details: { "step" => step_template[:name], "handler_class" => step_template[:handler_class] })
        end
        unless klass.is_a?(Class) && klass.method_defined?(:process)
          raise ValidationError, "#{where}: handler_class #{step_template[:handler_class]} is not a class with #process(task, sequence, step)"
        end

        klass.new(config: step_template[:handler_config] || {})
      end
    end
  end
end
