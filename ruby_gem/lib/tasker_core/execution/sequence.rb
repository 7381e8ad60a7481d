# frozen_string_literal: true

module TaskerCore
  module Execution
    # The results of the step's ancestors, by step name. The claim carries
    # the direct parents' results (#dependency_results, #step_names); any
    # other ancestor's are fetched from the engine the first time #result_of
    # asks for them (Engine.ancestor_results, while the claim holds) and kept.
    class Sequence
      attr_reader :dependency_results

      # step_id and claim_token are the claim's: without them only the
      # parents' results can be read. step_name names the step in errors.
      def initialize(dependency_results, step_id: nil, claim_token: nil, step_name: nil)
        @dependency_results = dependency_results || {}
        @step_id = step_id
        @claim_token = claim_token
        @step_name = step_name
        @fetched = {}
        freeze
      end

      # The results of ancestor step +name+: a parent's from the claim, any
      # other's fetched once. Raises NotFoundError naming both steps when
      # +name+ is not an ancestor of this step.
      def result_of(name)
        name = name.to_s
        return @dependency_results[name] if @dependency_results.key?(name)
        return @fetched[name] if @fetched.key?(name)

        @fetched[name] = fetch_ancestor(name)
      end

      # The direct parents' names (their results came with the claim).
      def step_names
        @dependency_results.keys
      end

      private

      def fetch_ancestor(name)
        not_an_ancestor!(name) unless @step_id && @claim_token && !name.empty?
        Engine.ancestor_results(step_id: @step_id, claim_token: @claim_token, names: [name]).fetch(name)
      rescue ValidationError => e
        raise unless e.details["field"] == "names[0]"

        not_an_ancestor!(name)
      end

      def not_an_ancestor!(name)
        this = @step_name ? "step #{@step_name.inspect}" : "this step"
        raise NotFoundError.new(
          "no results for step #{name.inspect}: it is not an ancestor of #{this} " \
          "(its parents: #{@dependency_results.keys.sort.join(', ')})",
          details: { "step" => name, "of" => @step_name }
        )
      end
    end
  end
end
