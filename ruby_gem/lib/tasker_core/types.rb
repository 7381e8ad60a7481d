# frozen_string_literal: true

require "dry-types"

module TaskerCore
  # The gem's dry-types namespace: TaskerCore::Types::Strict::String, ...
  # FFIInputs validates what goes to the library; FFIOutputs wraps what
  # comes back.
  module Types
    include Dry.Types()

    IdentityStrategy = Strict::String.enum("strict", "caller_provided", "always_unique")
    PositiveId = Strict::Integer.constrained(gt: 0)
    JSONObject = Strict::Hash
  end
end

require_relative "types/ffi_inputs"
require_relative "types/ffi_outputs"
