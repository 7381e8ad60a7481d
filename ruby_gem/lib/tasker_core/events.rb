# frozen_string_literal: true

module TaskerCore
  # Lifecycle events, named as in the original Tasker. Subscribe with
  # TaskerCore.on("step.failed") { |payload| ... }; when ActiveSupport is
  # loaded each event is also instrumented as "tasker_core.<name>". A
  # subscriber that raises is logged with the event name; the others still run.
  module Events
    # Every name fires (events_spec checks each). The original's
    # task.start_requested and task.resolved_manually are not here: a task
    # starts inside the library's claim, and no operation resolves a whole
    # task, so they would never fire.
    NAMES = %w[
      task.initialize_requested task.completed task.failed task.retry_requested task.cancelled
      step.initialize_requested step.execution_requested step.before_handle step.handle step.completed
      step.failed step.retry_requested step.max_retries_reached step.cancelled step.resolved_manually
    ].freeze
    KNOWN = NAMES.to_h { |n| [n, true] }.freeze
    NONE = [].freeze

    @subscribers = Hash.new { |h, k| h[k] = [] }
    @lock = Mutex.new

    class << self
      # Adds a subscriber block; raises ArgumentError for an unknown name.
      def subscribe(name, &block)
        name = name.to_s
        raise ArgumentError, "Invalid event name: #{name.inspect}; valid names: #{NAMES.join(', ')}" unless NAMES.include?(name)
        raise ArgumentError, "TaskerCore.on(#{name.inspect}) needs a block" unless block

        @lock.synchronize { @subscribers[name] = [*@subscribers[name], block].freeze }
        block
      end

      def unsubscribe(name, block)
        @lock.synchronize { @subscribers[name.to_s] = (@subscribers[name.to_s] - [block]).freeze }
      end

      # Calls the subscribers of +name+ (and ActiveSupport's instrument when
      # loaded) with the payload plus :event, frozen; builds nothing when
      # nobody listens.
      def publish(name, payload)
        deliver(name, payload, defined?(ActiveSupport::Notifications))
      end

      # #publish for TaskerCore.on subscribers only: ActiveSupport already
      # had the event from #instrument.
      def publish_to_subscribers(name, payload)
        deliver(name, payload, false)
      end

      def deliver(name, payload, instrument)
        raise ArgumentError, "Invalid event name: #{name.inspect}" unless KNOWN.key?(name)

        subscribers = @subscribers.fetch(name, NONE)
        return nil if subscribers.empty? && !instrument

        payload = payload.merge(event: name).freeze
        ActiveSupport::Notifications.instrument("tasker_core.#{name}", payload) if instrument
        subscribers.each do |subscriber|
          subscriber.call(payload)
        rescue StandardError => e
          TaskerCore.logger.error("tasker_core: subscriber of #{name} raised #{e.class}: #{e.message}")
        end
        nil
      end
      private :deliver

      # Runs the block inside ActiveSupport::Notifications.instrument
      # ("tasker_core.<name>", payload) when ActiveSupport is loaded, so its
      # subscribers get the block's duration (and the exception, if it
      # raises); TaskerCore.on subscribers get the event from #publish.
      def instrument(name, payload, &block)
        return yield unless defined?(ActiveSupport::Notifications)

        ActiveSupport::Notifications.instrument("tasker_core.#{name}", payload.merge(event: name), &block)
      end

      # Whether publishing +name+ reaches anyone (build costly payloads only
      # then).
      def listening?(name)
        defined?(ActiveSupport::Notifications) || !@subscribers.fetch(name, NONE).empty?
      end

      def clear!
        @lock.synchronize { @subscribers.clear }
      end
    end
  end
end
