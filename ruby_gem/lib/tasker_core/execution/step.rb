# frozen_string_literal: true

module TaskerCore
  module Execution
    # The step being run: #id, #name, #attempts (this one included),
    # #retry_limit, #config (its handler_config) and #inputs.
    class Step
      attr_reader :id, :name, :attempts, :retry_limit, :retryable, :config, :inputs

      def initialize(id:, name:, attempts:, retry_limit:, retryable:, config:, inputs:)
        @id = id
        @name = name
        @attempts = attempts
        @retry_limit = retry_limit
        @retryable = retryable
        @config = config || {}
        @inputs = inputs
        freeze
      end

      alias workflow_step_id id

      # True when a failure of this attempt leaves no retry.
      def last_attempt?
        !retryable || attempts >= retry_limit
      end
    end
  end
end
