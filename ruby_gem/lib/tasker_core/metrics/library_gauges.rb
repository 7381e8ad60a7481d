# frozen_string_literal: true

module TaskerCore
  module Metrics
    # The library's own numbers (tasker_stats: its connection pool, Go heap
    # and goroutines), which Ruby's GC and ObjectSpace cannot see. Written
    # only once the library is loaded: a metrics scrape never loads it.
    module LibraryGauges
      POOL = { "total" => "pool_total_conns", "idle" => "pool_idle_conns", "acquired" => "pool_acquired_conns",
               "max" => "pool_max_conns" }.freeze

      module_function

      def write(exposition)
        return exposition unless Native.ready?

        stats = Native.stats
        exposition.family("tasker_library_pool_connections", "gauge", "The engine's database connections, by state")
        POOL.each { |state, key| exposition.sample("tasker_library_pool_connections", stats[key], state: state) }
        exposition.family("tasker_library_goroutines", "gauge", "Goroutines of the library")
                  .sample("tasker_library_goroutines", stats["goroutines"])
        exposition.family("tasker_library_heap_bytes", "gauge", "The Go heap in use")
                  .sample("tasker_library_heap_bytes", stats["heap_alloc_bytes"])
      end
    end
  end
end
