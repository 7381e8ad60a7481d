# frozen_string_literal: true

module TaskerCore
  # The process-wide registry of task handlers: namespace/name/version →
  # TaskHandler::Base. Workers find the handler of a claimed step here.
  # Templates registered before the library was loaded wait in #pending and
  # are registered with the engine on the first engine call.
  class OrchestrationManager
    @instance_lock = Mutex.new

    def self.instance
      @instance || @instance_lock.synchronize { @instance ||= new }
    end

    def initialize
      @handlers = {}
      @pending = []
      @monitor = Monitor.new
    end

    # Adds (or replaces) a handler. Registers its template with the engine
    # now when the library is ready, else queues it.
    def register(handler)
      @monitor.synchronize do
        if Native.ready?
          handler.register!
        else
          @pending << handler
        end
        @handlers[key(handler.namespace, handler.name, handler.version)] = handler
      end
      handler
    end

    # Forgets a handler in this process (its template stays in the engine).
    def unregister(handler)
      @monitor.synchronize do
        @pending.delete(handler)
        @handlers.delete(key(handler.namespace, handler.name, handler.version))
      end
    end

    # Registers queued templates with the engine (blocks). Called by
    # Engine.initialize_task and Worker before work starts.
    def flush_pending!
      return if @pending.empty?

      @monitor.synchronize do
        until @pending.empty?
          handler = @pending.shift
          begin
            handler.register!
          rescue Error
            @handlers.delete(key(handler.namespace, handler.name, handler.version))
            raise
          end
        end
      end
    end

    def pending
      @monitor.synchronize { @pending.dup }
    end

    # The handler for a template version; raises NotFoundError listing what
    # is registered.
    def handler_for(namespace, name, version)
      @handlers.fetch(key(namespace, name, version)) do
        raise NotFoundError.new(
          "no task handler registered for #{namespace}/#{name}@#{version}; registered: #{list.join(', ')}",
          details: { "kind" => "task_handler", "key" => key(namespace, name, version) }
        )
      end
    end

    # The handler of a task (blocks: reads the task's template).
    def handler_for_task(task_id)
      status = Engine.task_status(task_id)
      handler_for(status.namespace, status.name, status.version)
    end

    # ["namespace/name@version", ...] for introspection.
    def list
      @handlers.keys.sort
    end

    def handlers
      @handlers.values
    end

    # Resolves every registered step handler class (a worker does this at
    # boot, so a missing class stops it before it claims anything); raises
    # the first ValidationError.
    def validate_handlers!
      handlers.each(&:validate_handlers!)
    end

    # Drops every handler instance so changed classes are looked up again
    # (Rails' reloader, in development).
    def reset_step_handlers!
      handlers.each(&:reset_step_handlers!)
    end

    # Forgets every handler (tests).
    def reset!
      @monitor.synchronize do
        @handlers.clear
        @pending.clear
      end
    end

    private

    def key(namespace, name, version)
      "#{namespace}/#{name}@#{version}"
    end
  end
end
