# frozen_string_literal: true

module TaskerCore
  module Execution
    # The task a step belongs to, as a handler sees it: #id and #context
    # (a frozen Hash with string keys).
    class Task
      attr_reader :id, :context, :namespace, :name, :version

      def initialize(id:, context:, namespace:, name:, version:)
        @id = id
        @context = context
        @namespace = namespace
        @name = name
        @version = version
        freeze
      end

      alias task_id id
    end
  end
end
