# frozen_string_literal: true

require "fileutils"
require "pg"
require "socket"
require "tmpdir"
require "uri"

# A private PgBouncer in transaction pool mode in front of the suite's server
# (DATABASE_URL), for specs that prove the engine keeps no state on a
# connection between transactions. Like core/taskertest/pgbouncer.go: few
# server connections, handed out round robin, so consecutive transactions of
# one client land on different server connections.
class SpecPgBouncer
  POOL_SIZE = 3
  DEBIAN_BINARY = "/usr/sbin/pgbouncer" # not on a non-root PATH

  def self.binary
    found = ENV.fetch("PATH", "").split(File::PATH_SEPARATOR).map { |d| File.join(d, "pgbouncer") }
               .find { |p| File.executable?(p) }
    found || (File.executable?(DEBIAN_BINARY) && DEBIAN_BINARY) ||
      raise("pgbouncer not found (on PATH or at #{DEBIAN_BINARY}): install the Debian package pgbouncer " \
            "(scripts/setup.sh does); the PgBouncer specs cannot run without it")
  end

  def self.start
    new.tap(&:start)
  end

  attr_reader :port

  def start
    @dir = Dir.mktmpdir("tasker-pgbouncer-")
    @port = free_port
    ini = File.join(@dir, "pgbouncer.ini")
    File.write(ini, config)
    @log = File.join(@dir, "pgbouncer.log")
    @pid = Process.spawn(self.class.binary, ini, %i[out err] => @log, pgroup: true)
    wait_until_listening
  end

  def stop
    return unless @pid

    Process.kill("TERM", @pid) # immediate shutdown
    Process.wait(@pid)
    @pid = nil
  rescue Errno::ESRCH, Errno::ECHILD
    @pid = nil
  ensure
    FileUtils.remove_entry(@dir) if @dir && File.directory?(@dir)
  end

  # The URL of +database+ through PgBouncer.
  def url(database)
    uri = URI.parse(SpecDatabase.server_url)
    uri.host = "127.0.0.1"
    uri.port = @port
    uri.path = "/#{database}"
    uri.to_s
  end

  # Makes PgBouncer open all its server connections to +database+, so round
  # robin has connections to rotate through: holds POOL_SIZE transactions
  # open at once, then ends them.
  def open_servers(database)
    conns = Array.new(POOL_SIZE) { PG.connect(url(database)) }
    conns.each { |c| c.exec("BEGIN; SELECT 1") }
    conns.each { |c| c.exec("ROLLBACK") } # a client leaving mid-transaction would take its server connection along
  ensure
    conns&.each(&:close)
  end

  # What PgBouncer logged (it buffers its stderr: complete once stopped).
  def log
    File.exist?(@log.to_s) ? File.read(@log) : ""
  end

  private

  # Every database of the server (the * entry) as the server URL's user;
  # ignore_startup_parameters stays empty, so a connection parameter
  # PgBouncer cannot pool fails the spec.
  def config
    server = PG::Connection.conninfo_parse(SpecDatabase.server_url).to_h { |o| [o[:keyword], o[:val]] }
    db = "host=#{quote(server['host'] || '127.0.0.1')} port=#{server['port'] || 5432} user=#{quote(server['user'] || 'postgres')}"
    db += " password=#{quote(server['password'])}" if server["password"]
    lines = ["[databases]", "* = #{db}", "[pgbouncer]", "listen_addr = 127.0.0.1", "listen_port = #{@port}",
             "unix_socket_dir =", "auth_type = any", "pool_mode = transaction", "default_pool_size = #{POOL_SIZE}",
             "reserve_pool_size = 0", "max_client_conn = 500", "server_round_robin = 1"]
    lines << "user = nobody" if Process.euid.zero? # PgBouncer refuses to run as root
    "#{lines.join("\n")}\n"
  end

  def quote(value)
    "'#{value.to_s.gsub("'", "''")}'"
  end

  def free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end

  def wait_until_listening
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 15
    loop do
      raise "pgbouncer exited at start:\n#{log}" if Process.wait(@pid, Process::WNOHANG)

      begin
        TCPSocket.new("127.0.0.1", @port).close
        return
      rescue SystemCallError
        raise "pgbouncer did not listen on port #{@port} within 15s:\n#{log}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep 0.02
      end
    end
  end
end
