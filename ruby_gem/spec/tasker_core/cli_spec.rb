# frozen_string_literal: true

require "stringio"
require "tasker_core/cli"

RSpec.describe TaskerCore::CLI do
  let(:out) { StringIO.new }

  it "prints a task's DAG indented by dependency level, with state, attempts and duration" do
    init = Workflows.handler(:diamond).initialize_task(context: { "failures" => { "merge_branches" => "retry_once" } })
    run_task_to_completion(init.task_id)
    expect(described_class.new(out: out).run(["status", init.task_id.to_s])).to eq(0)
    lines = out.string.lines
    expect(lines.first).to eq("task #{init.task_id} spec/diamond_wf@1.0.0: complete\n")
    expect(lines[1]).to match(/\A  start_workflow\s+complete\s+attempts=1\s+\d+ms\n\z/)
    expect(lines.find { |l| l.include?("merge_branches") }).to match(/\A {8}merge_branches\s+complete\s+attempts=2 .*<- branch_one_validate, branch_two_validate/)
    expect(lines.last).to start_with("          end_workflow")
  end

  it "migrates (idempotently) and rejects a bad task id" do
    expect(described_class.new(out: out).run(["migrate"])).to eq(0)
    expect(out.string).to match(/up to date \(version \d+\)/)
    expect { expect(described_class.new(out: out).run(%w[status abc])).to eq(2) }.to output(/TASK_ID must be a positive integer, got "abc"/).to_stderr
  end

  it "runs the demo end to end" do
    out, status = Subprocess.ruby(<<~RUBY, timeout: 90, env: { "DATABASE_URL" => SpecDatabase.url })
      load "#{File.expand_path('../../exe/tasker-core', __dir__)}"
    RUBY
    expect(status.exitstatus).to eq(0)
    out2, status2 = Subprocess.ruby(%(ARGV.replace(["demo", "--orders", "3"]); load "#{File.expand_path('../../exe/tasker-core', __dir__)}"),
                                    timeout: 90, env: { "DATABASE_URL" => SpecDatabase.url })
    expect(status2).to be_success, out2
    expect(out2).to include("tasks 3/3 complete", "process_payment", "attempts=2")
    # stdout is a pipe: progress comes one update per line (no "\r"), and the last one is the final state
    expect(out2).not_to include("\r")
    progress = out2.lines.grep(/^==> tasks /)
    expect(progress).to all(match(/\A==> tasks \d+\/3 complete, steps \d+\/\d+ done, \d+ waiting for retry\n\z/))
    expect(progress.last).to start_with("==> tasks 3/3 complete")
    expect(progress.uniq.size).to eq(progress.size)
    expect(out2.scan(/^task \d+ fulfillment\/process_order@1.0.0: complete$/).size).to eq(3)
    expect(out).to include("usage: tasker-core")
  end

  describe TaskerCore::CLI::Progress do
    let(:now) { [0.0] }
    let(:clock) { -> { now[0] } }

    it "prints one line per change, at most every 0.5 s, and the final state, when not a terminal" do
      progress = described_class.new(out, clock: clock)
      [[0.0, "a"], [0.1, "b"], [0.2, "c"], [0.6, "c"], [0.7, "d"], [0.9, "e"], [1.3, "e"], [1.4, "f"]].each do |t, text|
        now[0] = t
        progress.update(text)
      end
      progress.finish
      expect(out.string).to eq("a\nc\ne\nf\n")
    end

    it "does not repeat the final state when it was the last line printed" do
      progress = described_class.new(out, clock: clock)
      progress.update("done")
      progress.finish
      expect(out.string).to eq("done\n")
    end

    it "redraws one line in place with \\r on a terminal, clearing a longer previous text" do
      def out.tty? = true
      progress = described_class.new(out, clock: clock)
      progress.update("long text")
      progress.update("short")
      progress.finish
      expect(out.string).to eq("\rlong text\rshort    \n")
    end
  end
end
