# frozen_string_literal: true

# Real ActiveJob classes for the ActiveJob specs (loaded by them, so the
# rest of the suite runs without ActiveJob). Jobs record what happens to
# them in SpecJobs.log.
require "active_job"
require "stringio"

ActiveJob::Base.queue_adapter = :test
ActiveJob::Base.logger = Logger.new(File::NULL)

module SpecJobs
  @log = []
  @lock = Mutex.new

  def self.log
    @lock.synchronize { @log.dup }
  end

  def self.record(entry)
    @lock.synchronize { @log << entry }
  end

  def self.reset!
    @lock.synchronize { @log.clear }
    ActiveJob::Base.queue_adapter.enqueued_jobs.clear
  end

  # What ActiveJob has enqueued, as a queue stores it: serialized, through
  # JSON and back.
  def self.enqueued_payloads
    ActiveJob::Base.queue_adapter.enqueued_jobs.map do |job|
      JSON.parse(JSON.generate(job.reject { |key, _| key.is_a?(Symbol) }))
    end
  end

  # An existing mailer-style job: callbacks, positional and keyword arguments,
  # a return value that is not all JSON.
  class WelcomeEmailJob < ActiveJob::Base
    before_perform { |job| SpecJobs.record([:before, job.arguments]) }
    around_perform do |job, block|
      SpecJobs.record([:around, job.executions])
      block.call
      SpecJobs.record(:around_done)
    end
    after_perform { SpecJobs.record(:after) }

    def perform(user_id, plan, locale:)
      { "sent_to" => user_id, plan: plan.to_sym, "locale" => locale, at: Time.utc(2024, 1, 2, 3, 4, 5),
        "attempt" => executions, "job_id" => job_id }
    end
  end

  # Fails (retry_on) until its execution number reaches the argument.
  class FlakyJob < ActiveJob::Base
    class Flake < StandardError; end
    # On a queue this would wait 30 s and give up after 2 executions.
    retry_on Flake, wait: 30, attempts: 2

    def perform(succeed_on)
      SpecJobs.record([:flaky, executions, job_id])
      raise Flake, "flaky on execution #{executions}" if executions < succeed_on

      { "ran_on" => executions }
    end
  end

  class DiscardingJob < ActiveJob::Base
    class Gone < StandardError; end
    discard_on Gone

    def perform(user_id)
      SpecJobs.record([:discarding, executions])
      raise Gone, "user #{user_id} was deleted"
    end
  end

  # Returns {"user_id" => context["user_id"]}: the parent of a job step.
  class CreateAccount < TaskerCore::StepHandler::Base
    def process(task, _sequence, _step)
      { "user_id" => task.context.fetch("user_id") }
    end
  end
end
