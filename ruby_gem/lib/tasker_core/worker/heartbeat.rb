# frozen_string_literal: true

module TaskerCore
  class Worker
    # Tracks the steps a worker is running and extends their leases from one
    # thread ("tasker_core.worker.heartbeat") every third of the lease.
    class Heartbeat
      def initialize(lease_ms:, logger:)
        @lease_ms = lease_ms
        @logger = logger
        @in_flight = {}
        @lock = Mutex.new
        @wake = ConditionVariable.new
        @stopping = false
        @thread = nil
      end

      def start
        @thread = Thread.new { loop_body }
        @thread.name = "tasker_core.worker.heartbeat"
        self
      end

      # Runs the block with the claimed step registered for heartbeats.
      def track(claimed)
        @lock.synchronize { @in_flight[claimed.workflow_step_id] = claimed.claim_token }
        yield
      ensure
        @lock.synchronize { @in_flight.delete(claimed.workflow_step_id) }
      end

      def in_flight
        @lock.synchronize { @in_flight.keys }
      end

      def stop
        @lock.synchronize do
          @stopping = true
          @wake.signal
        end
        @thread&.join(5)
      end

      private

      def loop_body
        interval = [@lease_ms / 3000.0, 0.05].max
        loop do
          batch = @lock.synchronize do
            @wake.wait(@lock, interval) unless @stopping
            return if @stopping

            @in_flight.dup
          end
          batch.each { |step_id, token| beat(step_id, token) }
        end
      end

      def beat(step_id, token)
        Engine.heartbeat(step_id: step_id, claim_token: token, lease_ms: @lease_ms)
      rescue StaleClaimError => e
        @logger.warn("tasker_core: lost the claim on step #{step_id} while running it: #{e.message}")
      rescue Error => e
        @logger.error("tasker_core: heartbeat for step #{step_id} failed: #{e.class}: #{e.message}")
      end
    end
  end
end
