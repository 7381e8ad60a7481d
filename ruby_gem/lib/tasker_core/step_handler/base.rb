# frozen_string_literal: true

module TaskerCore
  module StepHandler
    # Subclass it and implement #process(task, sequence, step), returning the
    # step's results (anything JSON can hold exactly). Raise
    # TaskerCore::RetryableError (retry_after: seconds) or
    # TaskerCore::PermanentError to steer retries; any other exception is a
    # retryable failure recorded with its class, message and backtrace.
    #
    # A handler is instantiated once per template (TaskHandler::Base) and
    # called from several worker threads at once: keep per-call state in
    # locals, not instance variables.
    class Base
      attr_reader :config

      def initialize(config: {})
        raise ArgumentError, "config must be a Hash, got #{config.class}" unless config.is_a?(Hash)

        @config = config
      end

      # task: Execution::Task (#id, #context); sequence: Execution::Sequence
      # (#result_of(name): a parent's results come with the claim, any other
      # ancestor's are fetched once); step: Execution::Step (#name,
      # #attempts, #config).
      def process(_task, _sequence, _step)
        raise NotImplementedError, "#{self.class} must implement #process(task, sequence, step)"
      end
    end
  end
end
