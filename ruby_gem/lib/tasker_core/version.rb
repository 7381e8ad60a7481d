# frozen_string_literal: true

module TaskerCore
  # The gem's version.
  VERSION = "0.1.0"
  # The C ABI version this gem speaks; the library's tasker_abi_version() must match.
  ABI_VERSION = 2
end
