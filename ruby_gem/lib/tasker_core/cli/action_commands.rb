# frozen_string_literal: true

require_relative "command"
require_relative "progress"

module TaskerCore
  class CLI
    # tasker-core retry|cancel TASK_ID... [--reason TEXT]: one transaction
    # per id, so a refused id changes nothing and the others go on; each id's
    # outcome is reported. Exit status: 0 when every id was done, else 1 when
    # any was refused or failed, else 3 (some id not found).
    class TaskActionCommand < Command
      # Ids from which a progress line is shown (on a terminal only).
      PROGRESS_FROM = 5

      def initialize(verb, out:, err:)
        super(out: out, err: err)
        @verb = verb
      end

      def parse(argv)
        reason = nil
        options("#{@verb} TASK_ID... [--reason TEXT] [--json]") do |o|
          o.on("--reason TEXT", "recorded in the transition's metadata") { |r| reason = r }
        end.parse!(argv)
        raise UsageError, "#{@verb} needs at least one TASK_ID" if argv.empty?

        # Every id is checked before any is touched.
        [argv.map { |a| id(a, "TASK_ID") }.uniq, reason]
      end

      def call((ids, reason))
        progress = Progress.new(@err) if ids.size >= PROGRESS_FROM && @err.respond_to?(:tty?) && @err.tty?
        done = 0
        action = @verb == "retry" ? :retry_tasks : :cancel_tasks
        outcomes = Operations.public_send(action, ids, reason: reason) do |o|
          done += 1
          progress&.update("#{@verb}: #{done}/#{ids.size}")
          report(o) unless @json
        end
        progress&.finish
        summarize(outcomes)
        exit_status(outcomes)
      end

      private

      def report(outcome)
        e = outcome.error
        line = if e.nil? then "task #{outcome.id}: #{@verb == 'retry' ? 'retried' : 'cancelled'}, now #{outcome.status}"
               elsif e.is_a?(NotFoundError) then "task #{outcome.id}: not found"
               else "task #{outcome.id}: refused: #{e.message}"
               end
        (e ? @err : @out).puts line
      end

      def summarize(outcomes)
        ok = outcomes.count(&:ok?)
        if @json
          emit({ "results" => outcomes.map(&:to_h), "done" => ok, "refused" => outcomes.size - ok })
        elsif outcomes.size > 1
          @out.puts "#{ok} of #{outcomes.size} tasks #{@verb == 'retry' ? 'retried' : 'cancelled'}"
        end
      end

      def exit_status(outcomes)
        errors = outcomes.filter_map(&:error)
        return EXIT_OK if errors.empty?

        errors.all?(NotFoundError) ? EXIT_NOT_FOUND : EXIT_REFUSED
      end
    end

    # tasker-core resolve STEP_ID [--reason TEXT] [--results JSON]: marks a
    # pending, waiting or failed step resolved manually, so its children may
    # run and its task may finish.
    class ResolveCommand < Command
      def parse(argv)
        opts = {}
        options("resolve STEP_ID [--reason TEXT] [--results JSON] [--json]") do |o|
          o.on("--reason TEXT", "recorded in the transition's metadata") { |r| opts[:reason] = r }
          o.on("--results JSON", "stored as the step's results") do |r|
            opts[:results] = JSON.parse(r)
          rescue JSON::ParserError => e
            raise UsageError, "--results must be JSON: #{e.message.lines.first.strip}"
          end
        end.parse!(argv)
        raise UsageError, "resolve needs one STEP_ID, got #{argv.size} arguments" unless argv.size == 1

        [id(argv.first, "STEP_ID"), opts]
      end

      def call((step_id, opts))
        res = Operations.resolve_step(step_id, **opts)
        if @json
          emit(res)
        else
          @out.puts "step #{step_id} (#{res['step_name']}) resolved manually; task #{res['task_id']} is #{res['task_status']}"
        end
        EXIT_OK
      rescue InvalidTransitionError => e
        raise InvalidTransitionError.new("step #{step_id} cannot be resolved: it is #{e.details['from']} " \
                                         "(only a pending, waiting_for_retry or error step can be)", details: e.details)
      end
    end
  end
end
