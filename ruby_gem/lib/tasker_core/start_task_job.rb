# frozen_string_literal: true

begin
  require "active_job"
rescue LoadError => e
  raise LoadError, "TaskerCore::StartTaskJob is an ActiveJob and needs the activejob gem " \
                   "(part of Rails; add it to your Gemfile): #{e.message}"
end

module TaskerCore
  # An ActiveJob that starts a task: the request of
  # TaskHandler::Base#initialize_task, as keywords.
  #
  #   TaskerCore::StartTaskJob.perform_later(namespace: "fulfillment", name: "process_order",
  #                                          context: { "order_id" => order.id })
  #
  # perform_later checks the request before anything is enqueued and raises
  # ValidationError naming the field (schema, exact JSON context, a
  # template registered in this process, an idempotency_key when the
  # template's strategy is caller_provided). #perform returns the task id
  # (also #task_id) and logs it.
  #
  # Queues deliver a job at least once, so a job may run twice: the task is
  # tagged "active_job:<job_id>", and a run that finds its identity taken by
  # a task carrying its own tag returns that task instead of failing. The
  # same identity taken by another request raises DuplicateTaskError (its
  # #existing_task_id), as initialize_task does. Under the always_unique
  # strategy, which never finds duplicates, the job's id is the
  # idempotency_key unless one is given.
  #
  # Without version: the newest version registered in this process is
  # started, chosen when the job runs (pass version: to pin one).
  class StartTaskJob < ActiveJob::Base
    OPERATION = "TaskerCore::StartTaskJob"

    queue_as :default

    # The id of the task this job started (or found it had started), once performed.
    attr_reader :task_id

    before_enqueue { |job| job.class.validate!(job.arguments, serializing: true) }

    # Blocks on the database. Returns the task id; raises ValidationError,
    # DuplicateTaskError (another request's task), the engine's errors.
    def perform(*arguments)
      request, handler = self.class.validate!(arguments)
      @task_id = start(handler, request)
    end

    class << self
      # Checks a job's arguments; returns [request, task handler]. Raises
      # ValidationError naming the field.
      def validate!(arguments, serializing: false)
        request = request_of(arguments)
        handler = handler_of(request)
        strategy = request[:identity_strategy] || handler.spec[:identity_strategy]
        if strategy == "caller_provided" && request[:idempotency_key].nil?
          invalid!("idempotency_key", "idempotency_key is required: #{handler.key} uses the caller_provided identity strategy")
        end
        ActiveJob::Arguments.serialize(arguments) if serializing
        [request, handler]
      rescue ActiveJob::SerializationError => e
        invalid!("context", "the arguments cannot be serialized by ActiveJob: #{e.message}")
      end

      private

      def request_of(arguments)
        unless arguments.size == 1 && arguments.first.is_a?(Hash)
          raise ValidationError.new("#{OPERATION}: pass the task request as keywords (namespace:, name:, context:, ...), " \
                                    "got #{arguments.size} argument(s)", details: { "operation" => OPERATION })
        end
        request = Types::FFIInputs.validate!(OPERATION, Types::FFIInputs::TaskRequest, arguments.first)
        JSONEncoder.check!(request[:context], "#{OPERATION}: context")
        check_unique_keys!(request[:context])
        request
      end

      # The task handler registered in this process for the request: the
      # exact version, else the newest.
      def handler_of(request)
        manager = OrchestrationManager.instance
        named = manager.handlers.select { |h| h.namespace == request[:namespace] && h.name == request[:name] }
        found = request[:version] ? named.select { |h| h.version == request[:version] } : named
        return found.max { |a, b| compare_versions(a.version, b.version) } unless found.empty?

        field = named.empty? ? "name" : "version"
        wanted = "#{request[:namespace]}/#{request[:name]}#{"@#{request[:version]}" if request[:version]}"
        invalid!(field, "no task template #{wanted} is registered in this process " \
                        "(registered: #{manager.list.join(', ').then { |l| l.empty? ? 'none' : l }})")
      end

      # A Hash naming a key twice once keys are Strings ({"a" => 1, a: 2})
      # would lose one value in ActiveJob's serializer.
      def check_unique_keys!(context)
        stack = [[context, "context"]]
        until stack.empty?
          value, path = stack.pop
          case value
          when Hash
            keys = value.keys.map(&:to_s)
            invalid!("context", "#{path} names the key #{keys.detect { |k| keys.count(k) > 1 }.inspect} twice") if keys.uniq.size < keys.size
            value.each { |k, v| stack.push([v, "#{path}[#{k.to_s.inspect}]"]) }
          when Array then value.each_with_index { |v, i| stack.push([v, "#{path}[#{i}]"]) }
          end
        end
      end

      # The engine's order: numeric segments, a release above its pre-releases.
      def compare_versions(a, b)
        core_a, pre_a = a.split("-", 2)
        core_b, pre_b = b.split("-", 2)
        core_a.split(".").zip(core_b.split(".")) do |x, y|
          next if y.nil? || x.to_i == y.to_i

          return x.to_i <=> y.to_i
        end
        return 0 if pre_a == pre_b

        pre_a.nil? ? 1 : pre_b.nil? ? -1 : pre_a <=> pre_b # rubocop:disable Style/NestedTernaryOperator
      end

      def invalid!(field, message)
        raise ValidationError.new("#{OPERATION}: #{message}", details: { "operation" => OPERATION, "field" => field })
      end
    end

    private

    def start(handler, request)
      mark = "active_job:#{job_id}"
      task = request.except(:namespace, :name, :version).merge(tags: [*request[:tags], mark])
      strategy = request[:identity_strategy] || handler.spec[:identity_strategy]
      task[:idempotency_key] ||= mark if strategy == "always_unique"
      id = handler.initialize_task(task).task_id
      logger.info("#{OPERATION}: started task #{id} (#{handler.key})")
      id
    rescue DuplicateTaskError => e
      raise unless Engine.task_status(e.existing_task_id).tags.include?(mark)

      logger.info("#{OPERATION}: task #{e.existing_task_id} (#{handler.key}) was started by an earlier run of this job")
      e.existing_task_id
    end
  end
end
