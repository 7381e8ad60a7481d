# frozen_string_literal: true

require "net/http"
require "socket"
require "tmpdir"

# Puma cluster mode (2 workers, preload_app!): the master requires the gem and
# defines handlers but never loads the library; workers serve requests that
# create and run tasks.
RSpec.describe "Puma cluster mode" do
  fixtures = File.expand_path("../fixtures/puma", __dir__)
  threads_per_worker = 4 # `threads 2, 4` in fixtures/puma/config.rb

  def free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end

  def get(port, path)
    Net::HTTP.start("127.0.0.1", port, open_timeout: 1, read_timeout: 30) { |http| http.get(path) }
  end

  def wait_for(timeout)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    sleep 0.1 until (done = yield) || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
    done
  end

  it "serves requests that create and run tasks in both workers, never loading the library in the master" do
    port = free_port
    boot_dir = Dir.mktmpdir("tasker_puma_boot")
    env = { "PORT" => port.to_s, "TASKER_SPEC_DATABASE_URL" => SpecDatabase.url, "TASKER_PUMA_BOOT_DIR" => boot_dir,
            "RUBYOPT" => "-I#{File.expand_path('../../lib', __dir__)}" }
    log = File.open(File.join(Dir.tmpdir, "tasker_puma_#{port}.log"), "w+")
    pid = Process.spawn(env, "puma", "-C", File.join(fixtures, "config.rb"), File.join(fixtures, "config.ru"),
                        out: log, err: log, pgroup: true)
    server_log = -> { log.rewind && log.read }
    begin
      # Both workers have booted (each wrote its pid) and the socket answers.
      worker_pids = -> { Dir[File.join(boot_dir, "worker*.pid")].map { |f| File.read(f).to_i }.reject(&:zero?) }
      expect(wait_for(30) { worker_pids.call.size == 2 && (get(port, "/ping") rescue nil) }).to be_truthy, server_log # rubocop:disable Style/RescueModifier

      # 2 x threads_per_worker requests at once, each holding its Puma thread
      # for a second: a worker whose threads are all busy accepts no more, so
      # the other worker must take some. 16 requests in all, 2 per client.
      clients = 2 * threads_per_worker
      responses = Array.new(clients) do
        Thread.new { Array.new(16 / clients) { JSON.parse(get(port, "/run?hold=1").body) } }
      end.flat_map(&:value)
      expect(responses.map { |r| r["status"] }).to all(eq("complete")), responses.inspect
      expect(responses.map { |r| r["steps"] }).to all(eq(7))
      expect(responses.map { |r| r["task_id"] }.uniq.size).to eq(16)
      expect(File.read("/proc/#{pid}/maps")).not_to include("libtasker_core")
      served = responses.group_by { |r| r["pid"] }.transform_values(&:size)
      expect(served.keys).not_to include(pid)
      expect(served.keys).to match_array(worker_pids.call), "requests per worker pid: #{served.inspect}"
      worker_pids.call.each do |worker|
        expect(File.read("/proc/#{worker}/maps")).to include("libtasker_core") # each loaded its own copy
      end
    ensure
      Process.kill("TERM", pid)
      Timeout.timeout(15) { Process.wait(pid) } rescue (Process.kill("KILL", -pid); Process.wait(pid)) # rubocop:disable Style/RescueModifier
      log.close
      File.delete(log.path)
      FileUtils.remove_entry(boot_dir)
    end
  end
end
