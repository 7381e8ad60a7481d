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
        @step_templates = @template[:step_templates].each_with_index.to_h { |st, i| [st[:name], [st, i]] }.freeze
        @step_templates.each_value { |st, i| check_class_name!(st, i) }
        @step_handlers = {}.freeze
        @step_handlers_lock = Mutex.new
        @registered = false
        OrchestrationManager.instance.register(self) if register
      end

      # Builds the handler named by the YAML's task_handler_class (default Base).
      def self.from_yaml(path, register: true)
        doc = Template.load(path: path)
        klass = doc[:task_handler_class] ? resolve_handler(doc[:task_handler_class], path, doc[:module_namespace]) : self
        klass.new(template: doc, register: register)
      end

      def self.resolve_handler(name, path, within = nil)
        klass = ClassResolver.resolve(name, within: within)
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

      # TaskerCore.request_task for this template: the task starts when the
      # caller's transaction on connection commits. Returns TaskRequestStatus.
      def request_task(request = nil, connection: nil, **fields)
        raise ArgumentError, "request_task: pass the request as a Hash or as keywords, not both" if request && fields.any?

        request ||= fields
        raise ValidationError, "request_task: expected a Hash, got #{request.class}" unless request.is_a?(Hash)

        register!
        Outbox.write({ namespace: namespace, name: name, version: version }.merge(request.transform_keys(&:to_sym)), connection)
      end

      def task_status(task_id)
        Engine.task_status(task_id)
      end

      def execution_context(task_id)
        Engine.execution_context(task_id)
      end

      # Runs the handler of step.name and returns its results.
      def process_step_with_handler(task, sequence, step)
        get_step_handler_from_name(step.name).process(task, sequence, step)
      end

      # The handler instance for a step name, made on first use: its class is
      # looked up then (through Rails' autoloader in an app), not when the
      # template is defined, so templates can be registered from an
      # initializer before app/ is loadable. Raises NotFoundError for an
      # unknown step, ValidationError for a class that is not defined or has
      # no #process.
      def get_step_handler_from_name(step_name)
        name = step_name.to_s
        @step_handlers[name] || @step_handlers_lock.synchronize do
          @step_handlers[name] || begin
            st, i = @step_templates.fetch(name) do
              raise NotFoundError, "#{key} has no step #{name.inspect}; steps: #{@step_templates.keys.join(', ')}"
            end
            handler = instantiate(st, i)
            @step_handlers = @step_handlers.merge(name => handler).freeze
            handler
          end
        end
      end

      # Resolves every step's handler class now (a worker does this when it
      # starts), raising the ValidationError of the first that fails.
      def validate_handlers!
        @step_templates.each_key { |name| get_step_handler_from_name(name) }
        self
      end

      # Forgets the handler instances, so the next use looks their classes up
      # again (Rails' reloader calls this: code changed in development).
      def reset_step_handlers!
        @step_handlers_lock.synchronize { @step_handlers = {}.freeze }
      end

      def inspect
        "#<#{self.class} #{key} steps=#{@step_templates.keys.inspect}>"
      end

      private

      def check_class_name!(step_template, index)
        ClassResolver.check_name!(step_template[:handler_class])
      rescue NameError => e
        raise ValidationError.new("template #{key}: step_templates[#{index}] (#{step_template[:name]}): " \
                                  "handler_class #{step_template[:handler_class]} #{e.message}",
                                  details: { "step" => step_template[:name], "handler_class" => step_template[:handler_class] })
      end

      def instantiate(step_template, index)
        where = "template #{key}: step_templates[#{index}] (#{step_template[:name]})"
        klass = begin
          ClassResolver.resolve(step_template[:handler_class], within: @template[:module_namespace])
        rescue NameError => e
          raise ValidationError.new("#{where}: handler_class #{step_template[:handler_class]} is not defined (#{e.message})",
                                    details: { "step" => step_template[:name], "handler_class" => step_template[:handler_class] })
        end
        unless klass.is_a?(Class) && klass.method_defined?(:process)
          raise ValidationError, "#{where}: handler_class #{step_template[:handler_class]} is not a class with #process(task, sequence, step)"
        end

        begin
          klass.new(config: step_template[:handler_config] || {})
        rescue ValidationError => e # a handler that checks its handler_config (ActiveJobStep)
          raise ValidationError.new("#{where}: #{e.message}",
                                    details: e.details.merge("step" => step_template[:name], "handler_class" => step_template[:handler_class]))
        end
      end
    end
  end
end
