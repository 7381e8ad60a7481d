# frozen_string_literal: true

require "fileutils"
require "net/http"
require "socket"
require "tmpdir"
require_relative "../support/dashboard"
require_relative "../support/png"

# The dashboard in a real browser: Puma serves spec/fixtures/web/config.ru on
# a free port, headless Chromium (Debian's chromium) loads the index and a
# task page, and the spec checks what it rendered (the DOM after parsing:
# the SVG DAG with its step names) and what it painted (the screenshots:
# the expected size, not blank, the nodes' state colours). Chromium missing
# fails the spec, naming the package: nothing is skipped.
# TASKER_SCREENSHOT_DIR=dir keeps the screenshots (docs/dashboard-task.png
# is the task page's, taken this way).
RSpec.describe "TaskerCore::Web in headless Chromium" do
  include DashboardTasks

  width = 1280
  height = 900
  complete_fill = [0xbb, 0xf7, 0xd0] # DagSvg's complete node
  error_fill = [0xfe, 0xca, 0xca]    # and error node

  def chromium
    path = %w[chromium chromium-browser].map { |c| `command -v #{c} 2>/dev/null`.strip }.find { |p| !p.empty? }
    raise "chromium not found: install Debian's chromium package (scripts/setup.sh installs it); the browser spec cannot run" unless path

    path
  end

  def browse(*args, url)
    # --no-sandbox: Chromium refuses to run as root with its sandbox (CI is root).
    out, err, status = Open3.capture3(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                      "--no-first-run", "--disable-extensions", "--window-size=#{@width},#{@height}",
                                      *args, url)
    raise "chromium #{args.join(' ')} #{url} failed (#{status.exitstatus}):\n#{err[-2000..] || err}" unless status.success?

    out
  end

  def free_port = TCPServer.new("127.0.0.1", 0).then { |s| s.addr[1].tap { s.close } }

  def wait_for_http(port, log)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
    loop do
      response = Net::HTTP.get_response(URI("http://127.0.0.1:#{port}/health")) rescue nil # rubocop:disable Style/RescueModifier
      return if response&.code == "200"
      raise "Puma did not answer /health within 30s:\n#{File.read(log)}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.2
    end
  end

  before(:all) do
    require "open3"
    @width = width
    @height = height
    @dir = Dir.mktmpdir("tasker_browser")
    @port = free_port
    @log = File.join(@dir, "puma.log")
    env = { "TASKER_SPEC_DATABASE_URL" => SpecDatabase.url, "RUBYOPT" => "-I#{Subprocess::LIB}" }
    @puma = Process.spawn(env, "puma", "-b", "tcp://127.0.0.1:#{@port}", "-t", "2:4",
                          File.expand_path("../fixtures/web/config.ru", __dir__), out: @log, err: @log, pgroup: true)
    wait_for_http(@port, @log)
  end

  after(:all) do
    if @puma
      Process.kill("TERM", -@puma)
      Timeout.timeout(15) { Process.wait(@puma) } rescue (Process.kill("KILL", -@puma); Process.wait(@puma)) # rubocop:disable Style/RescueModifier
    end
    FileUtils.remove_entry(@dir) if @dir
  end

  def url(path) = "http://127.0.0.1:#{@port}#{path}"

  def screenshot(path, name)
    file = File.join(@dir, "#{name}.png")
    browse("--screenshot=#{file}", url(path))
    if (keep = ENV.fetch("TASKER_SCREENSHOT_DIR", nil))
      FileUtils.mkdir_p(keep)
      FileUtils.cp(file, File.join(keep, "dashboard-#{name}.png"))
    end
    Png.read(file)
  end

  it "renders the index: the tasks in a table with their states" do
    ns = DashboardTasks.namespace("browser")
    handler = DashboardTasks.handler(ns)
    ids = [failed_task(handler), complete_task(handler), pending_task(handler)]

    dom = browse("--dump-dom", url("/?namespace=#{ns}"))
    ids.each { |id| expect(dom).to include(%(href="/tasks/#{id}">##{id}</a>)) }
    expect(dom).to include(%(<span class="state state-error">error</span>), %(<span class="state state-complete">complete</span>))

    png = screenshot("/?namespace=#{ns}", "index")
    expect([png.width, png.height]).to eq([width, height])
    expect(png.colours).to be > 20 # text, badges, the header: not a blank page
    expect(png.count(error_fill)).to be > 100 # the error badge, painted with app.css
    expect(png.count(complete_fill)).to be > 100
  end

  it "renders a task page: the DAG as SVG with every step name, coloured by state" do
    id = failed_task(DashboardTasks.handler("shop")) # a readable name in docs/dashboard-task.png

    dom = browse("--dump-dom", url("/tasks/#{id}"))
    svg = dom[%r{<svg [^>]*class="dag".*?</svg>}m]
    expect(svg).not_to be_nil, dom[0, 2000]
    DashboardTasks::STEPS.each_key { |name| expect(svg).to include(">#{name}</text>") }
    expect(svg.scan("<path class=\"edge\"").size).to eq(5)
    expect(dom).to include("declined in charge_payment")

    png = screenshot("/tasks/#{id}", "task")
    expect([png.width, png.height]).to eq([width, height])
    expect(png.colours).to be > 20
    # Two complete nodes (validate, reserve) and one error node, each 210x54
    # pixels less its text; the badges add a few hundred pixels more.
    expect(png.count(complete_fill)).to be > 2 * 8_000
    expect(png.count(error_fill)).to be > 8_000
  end
end
