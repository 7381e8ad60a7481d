# frozen_string_literal: true

# Real forks, each scenario in a fresh Ruby process (spawned with fork+exec,
# which is safe) so the parent's state is exactly what the scenario says.
RSpec.describe TaskerCore::ForkGuard do
  PRELUDE = <<~RUBY
    require "tasker_core"
    $stdout.sync = true
    TaskerCore.configure { |c| c.database_url = ENV["TASKER_SPEC_DATABASE_URL"] }
    # child_result { block } forks, runs the block in the child with a 5 s
    # watchdog, and prints what the child printed and how long it took.
    def in_child
      reader, writer = IO.pipe
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      pid = fork do
        reader.close
        Thread.new { sleep 5; writer.puts "HUNG"; exit!(3) }
        begin
          writer.puts "ok: \#{yield}"
        rescue TaskerCore::ForkError => e
          writer.puts "ForkError: \#{e.message}"
        end
        exit!(0)
      end
      writer.close
      Process.wait(pid)
      puts "\#{reader.read.strip} (\#{(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).round(2)}s)"
    end
  RUBY

  def scenario(body)
    out, status = Subprocess.ruby(PRELUDE + body, timeout: 30)
    expect(status).to be_success, out
    out
  end

  it "raises ForkError within a second in a child of a process that had loaded the library" do
    out = scenario(<<~RUBY)
      TaskerCore.migrate
      in_child { TaskerCore.migrate["current_version"] }
      in_child { Process.fork { } ; TaskerCore::Native.live_handles } # Process.fork, and a call that needs no DB
    RUBY
    lines = out.lines
    expect(lines.size).to eq(2), out
    lines.each do |line|
      expect(line).to start_with("ForkError: tasker_core's native library was loaded in an ancestor")
      expect(line).to include("on_worker_boot", "preload_app!")
      expect(line[/\(([\d.]+)s\)$/, 1].to_f).to be < 1.0
    end
  end

  it "raises ForkError even when the parent only loaded the library without calling it" do
    out = scenario(<<~RUBY)
      TaskerCore::Native.ensure_loaded!
      in_child { TaskerCore.migrate }
    RUBY
    expect(out).to start_with("ForkError:")
  end

  it "lets a child whose parent never loaded the library load its own, repeatedly" do
    out = scenario(<<~RUBY)
      3.times { in_child { TaskerCore.migrate["current_version"] } }
      puts "parent loaded: \#{TaskerCore::Native.loaded?}"
    RUBY
    expect(out.lines.first(3)).to all(match(/\Aok: \d+ \(/))
    expect(out).to include("parent loaded: false")
  end

  it "refuses a grandchild of a child that loaded the library" do
    out = scenario(<<~RUBY)
      in_child do
        TaskerCore.migrate
        r, w = IO.pipe
        pid = fork do
          Thread.new { sleep 5; w.puts "HUNG"; exit!(3) }
          begin
            TaskerCore.migrate
            w.puts "grandchild ran"
          rescue TaskerCore::ForkError
            w.puts "grandchild ForkError"
          end
          exit!(0)
        end
        w.close
        Process.wait(pid)
        r.read.strip
      end
    RUBY
    expect(out).to start_with("ok: grandchild ForkError")
  end

  it "refuses after Process.daemon (which does not go through Process._fork)" do
    path = "/tmp/tasker_daemon_#{Process.pid}_#{SecureRandom.hex(4)}"
    scenario(<<~RUBY)
      TaskerCore.migrate
      Process.daemon(true, true)
      msg = begin
        TaskerCore.migrate
        "daemon ran"
      rescue TaskerCore::ForkError
        "daemon ForkError"
      end
      File.write("#{path}.tmp", msg)
      File.rename("#{path}.tmp", "#{path}")
    RUBY
    50.times { break if File.exist?(path); sleep 0.1 }
    expect(File.read(path)).to eq("daemon ForkError")
  ensure
    File.delete(path) if File.exist?(path)
  end
end
