# frozen_string_literal: true

# Per-call cost of the library from Ruby (ffi 1.15 → Go), the way the gem
# calls it. Run from the repository root after `make lib`:
#
#   ruby ruby_gem/bench/call_overhead.rb
#
# Prints the best of 5 runs per call, in ns/op, and ratios against the no-op
# export measured in the same run (the machine is noisy: read the ratios).
$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "tasker_core"

N = Integer(ENV.fetch("BENCH_N", "200000"))

def best_ns(iterations)
  Array.new(5) do
    GC.start
    t = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
    i = 0
    while i < iterations
      yield
      i += 1
    end
    (Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - t).fdiv(iterations)
  end.min
end

native = TaskerCore::Native
native.abi_version # loads the library (no database needed for these calls)
empty = best_ns(N) { nil }
rows = {
  "no-op export (tasker_abi_version)" => [N, -> { native.tasker_abi_version }],
  "live handle count (tasker_live_handles)" => [N, -> { native.tasker_live_handles }],
  "handle create + JSON read + free (Native.stats)" => [N / 20, -> { native.stats }]
}
base = nil
puts format("%-50s %12s %8s", "call", "ns/op", "ratio")
rows.each do |name, (n, call)|
  ns = best_ns(n) { call.call } - empty
  base ||= ns
  puts format("%-50s %12.0f %7.1fx", name, ns, ns / base)
end
puts "(ruby #{RUBY_VERSION}, ffi #{FFI::VERSION}, #{N} iterations; reproduce: ruby ruby_gem/bench/call_overhead.rb)"
