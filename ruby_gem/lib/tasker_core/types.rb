# frozen_string_literal: true

require "dry-types"

module TaskerCore
  # The gem's dry-types namespace: TaskerCore::Types::Strict::String, ...
  # FFIInputs validates what goes to the library; FFIOutputs wraps what
  # comes back.
  module Types
    include Dry.Types()

    IdentityStrategy = Strict::String.enum("strict", "caller_provided", "always_unique")
    # The library's ids are PostgreSQL bigints; priorities are ints.
    PositiveId = Strict::Integer.constrained(gt: 0, lteq: (2**63) - 1)
    Priority = Strict::Integer.constrained(gteq: -(2**31), lteq: (2**31) - 1)
    JSONObject = Strict::Hash
  end
end

require_relative "types/ffi_inputs"
require_relative "types/ffi_outputs"
