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
      # from_h(hash, frozen: true) takes a hash parsed with JSON's freeze:
      # option (already deep-frozen) and skips the freezing walk.
      def self.value(*fields, nested: {}, &block)
        specs = fields.map { |f| [f, f.to_s, nested[f]].freeze }.freeze
        Struct.new(*fields, keyword_init: true) do
          define_singleton_method(:nested) { nested }
          define_singleton_method(:from_h) do |hash, frozen: false|
            attrs = {}
            specs.each do |f, key, kind|
              raw = hash[key]
              attrs[f] = if kind.nil? then frozen ? raw : FFIOutputs.deep_freeze(raw)
                         elsif kind.is_a?(::Array) then (raw || []).map { |h| kind.first.from_h(h, frozen: frozen) }.freeze
                         elsif raw then kind.from_h(raw, frozen: frozen)
                         end
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
require_relative "ffi_outputs/task_request_status"
