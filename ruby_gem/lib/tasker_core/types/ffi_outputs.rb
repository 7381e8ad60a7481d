# frozen_string_literal: true

module TaskerCore
  module Types
    # Small frozen value objects built from a handle's JSON. Fields the gem
    # does not know (a newer library) are ignored; missing ones are nil.
    module FFIOutputs
      # Deep-freezes parsed JSON (Hash/Array/String).
      def self.deep_freeze(value)
        case value
        when ::Hash then value.each_value { |v| deep_freeze(v) }
        when ::Array then value.each { |v| deep_freeze(v) }
        end
        value.freeze
      end

      # Defines a frozen keyword Struct with .from_h(json_hash); nested maps
      # a field to the FFIOutputs class (or [Class] for arrays) to build it with.
      def self.value(*fields, nested: {}, &block)
        Struct.new(*fields, keyword_init: true) do
          define_singleton_method(:nested) { nested }
          define_singleton_method(:from_h) do |hash|
            attrs = fields.to_h do |f|
              raw = hash[f.to_s]
              kind = nested[f]
              built = if kind.is_a?(::Array) then (raw || []).map { |h| kind.first.from_h(h) }.freeze
                      elsif kind && raw then kind.from_h(raw)
                      else FFIOutputs.deep_freeze(raw)
                      end
              [f, built]
            end
            new(**attrs).freeze
          end
          class_eval(&block) if block
        end
      end
    end
  end
end

require_relative "ffi_outputs/workflow_step"
require_relative "ffi_outputs/initialize_result"
require_relative "ffi_outputs/claimed_step"
require_relative "ffi_outputs/step_handle_result"
require_relative "ffi_outputs/task_handle_result"
