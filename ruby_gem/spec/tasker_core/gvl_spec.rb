# frozen_string_literal: true

# Database calls release the GVL (attach_function ..., blocking: true): Ruby
# threads waiting on the database wait in parallel, and other threads keep
# running meanwhile. TaskerCore.ping(sleep_ms:) waits on the server
# (pg_sleep), so the measurement is the wait itself, not CPU work that two
# cores could not run four of at once.
RSpec.describe "GVL release" do
  def timed
    t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    yield
    Process.clock_gettime(Process::CLOCK_MONOTONIC) - t
  end

  def pings(count, sleep_ms)
    Array.new(count) { Thread.new { TaskerCore.ping(sleep_ms: sleep_ms) } }.each(&:value)
  end

  it "lets 4 threads wait on the database at once: 4 pings take about one's wall time" do
    expect(TaskerCore.config.pool_size).to be >= 4 # four connections, or the pool would queue them
    sleep_ms = 300
    pings(4, 50) # open four connections first
    sequential = timed { 4.times { TaskerCore.ping(sleep_ms: sleep_ms) } }
    parallel = timed { pings(4, sleep_ms) }
    RSpec.configuration.reporter.message(
      format("    4 x ping(sleep_ms: %d): sequential %.3fs, 4 threads %.3fs", sleep_ms, sequential, parallel)
    )
    expect(sequential).to be >= 4 * sleep_ms / 1000.0
    expect(parallel).to be < 0.6, "4 threads took #{parallel.round(3)}s (sequential #{sequential.round(3)}s)"
  end

  it "keeps other Ruby threads running during a call" do
    ticks = 0
    ticker = Thread.new do
      loop do
        ticks += 1
        sleep 0.005
      end
    end
    sleep 0.05 until ticks.positive?
    before = ticks
    elapsed = timed { TaskerCore.ping(sleep_ms: 500) }
    during = ticks - before
    ticker.kill.join
    expect(elapsed).to be >= 0.5
    expect(during).to be > (elapsed / 0.005) * 0.5, "#{during} ticks in #{elapsed.round(3)}s"
  end

  describe "TaskerCore.ping" do
    it "is a health check returning the round trip's seconds, honouring timeout_ms" do
      expect(TaskerCore.ping).to be_a(Float).and(be < 5)
      expect { TaskerCore.ping(sleep_ms: 1_000, timeout_ms: 100) }
        .to raise_error(TaskerCore::TimeoutError) { |e| expect(e.details).to include("op" => "ping") }
      expect { TaskerCore.ping(sleep_ms: 60_001) }.to raise_error(TaskerCore::ValidationError, /sleep_ms: must be within 0\.\.60000/)
      expect { TaskerCore.ping(sleep_ms: 0.5) }.to raise_error(TaskerCore::ValidationError, /sleep_ms must be an Integer/)
      expect { TaskerCore.ping(timeout_ms: -1) }.to raise_error(TaskerCore::ValidationError, /timeout_ms/)
      expect(TaskerCore.ping(sleep_ms: 10)).to be >= 0.01 # the pool is usable after the timeout
    end
  end
end
