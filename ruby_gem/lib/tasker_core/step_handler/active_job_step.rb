# frozen_string_literal: true

begin
  require "active_job"
  require "active_support/core_ext/digest/uuid"
rescue LoadError => e
  raise LoadError, "TaskerCore::StepHandler::ActiveJobStep runs ActiveJob classes and needs the activejob gem " \
                   "(part of Rails; add it to your Gemfile): #{e.message}"
end

module TaskerCore
  module StepHandler
    # Runs an existing ActiveJob as a step, in the worker, instead of on a queue:
    #
    #   - name: send_welcome_email
    #     handler_class: TaskerCore::StepHandler::ActiveJobStep
    #     depends_on_steps: [create_account]
    #     handler_config:
    #       job_class: WelcomeEmailJob
    #       arguments: [results.create_account.user_id]     # perform(user_id, ...)
    #       keyword_arguments: { locale: context.locale }   # perform(..., locale:)
    #
    # The job class is looked up when the handler is made (a worker's boot,
    # or the step's first run; through Rails' autoloader in an app) and again
    # after a reload. Arguments: see Arguments; subclass and override
    # #job_arguments / #job_keyword_arguments for anything else.
    #
    # The job runs through #perform_now, so its before/around/after_perform
    # callbacks, instrumentation and rescue_from handlers run as on a queue.
    # The step's result is #perform's return value made JSON-safe (Result).
    # The engine owns retries, so nothing is ever enqueued:
    #   - an exception the job does not rescue fails the attempt: retried
    #     within the step's retry_limit, with the engine's backoff;
    #   - retry_on (or any retry_job call) does the same with the original
    #     exception, instead of re-enqueueing; its wait: and attempts: do not
    #     apply (default_retry_limit and the engine's backoff do);
    #   - discard_on (or a rescue_from that swallows the exception) fails the
    #     step permanently: the job chose not to do this work;
    #   - TaskerCore::PermanentError / RetryableError raised by the job steer
    #     the step as from any handler.
    # #job_id is the same for every attempt of a step (as retry_job keeps it),
    # and #executions is the step's attempt number.
    class ActiveJobStep < Base
      Config = Types::Hash.schema(
        job_class: Types::Strict::String.constrained(min_size: 1),
        arguments?: Types::Strict::Array,
        keyword_arguments?: Types::Strict::Hash
      ).strict.with_key_transform(&:to_sym)

      # Extends each job instance: a retry becomes the step's failure, and a
      # rescued exception is remembered so a discard can be told from success.
      module EngineRetries
        attr_reader :tasker_core_rescued

        def rescue_with_handler(exception)
          @tasker_core_rescued = exception
          super
        end

        # The engine retries the step; the queue must not run the job again.
        def retry_job(options = {})
          raise options[:error] || tasker_core_rescued || RetryableError.new("#{self.class.name} called retry_job")
        end
      end

      attr_reader :job_class

      # Raises ValidationError for a bad handler_config or a job class that
      # is not defined (TaskHandler::Base adds the template and step).
      def initialize(config: {})
        super
        settings = Types::FFIInputs.validate!("handler_config", Config, config)
        @job_class = resolve_job_class(settings[:job_class])
        @arguments = Arguments.new(settings[:arguments] || [], settings[:keyword_arguments] || {})
      end

      def process(task, sequence, step)
        job = job_class.new(*job_arguments(task, sequence, step), **job_keyword_arguments(task, sequence, step))
        job.extend(EngineRetries)
        job.job_id = self.class.job_id_for(step)
        job.executions = step.attempts - 1 # perform_now counts this one
        value = job.perform_now
        discarded!(job, job.tasker_core_rescued) if job.tasker_core_rescued
        Result.json_safe(value)
      end

      # The job's positional arguments (a subclass may compute them).
      def job_arguments(task, sequence, _step)
        @arguments.positional(task, sequence)
      end

      def job_keyword_arguments(task, sequence, _step)
        @arguments.keywords(task, sequence)
      end

      # A UUID derived from the workflow step id: stable across attempts.
      def self.job_id_for(step)
        Digest::UUID.uuid_v5(Digest::UUID::URL_NAMESPACE, "tasker-core:workflow_step:#{step.id}")
      end

      private

      def resolve_job_class(name)
        klass = ClassResolver.resolve(name)
        return klass if klass.is_a?(Class) && klass < ::ActiveJob::Base

        raise ValidationError.new("handler_config job_class #{name} is not an ActiveJob::Base subclass (got #{klass.inspect})",
                                  details: { "job_class" => name })
      rescue NameError => e
        raise ValidationError.new("handler_config job_class #{name} is not defined (#{e.message})",
                                  details: { "job_class" => name })
      end

      def discarded!(job, error)
        failure = PermanentError.new("#{job.class.name} discarded the job on #{error.class}: #{error.message}",
                                     error_code: "active_job_discarded")
        failure.set_backtrace(error.backtrace || caller)
        raise failure, cause: error
      end
    end
  end
end

require_relative "active_job_step/arguments"
require_relative "active_job_step/result"
