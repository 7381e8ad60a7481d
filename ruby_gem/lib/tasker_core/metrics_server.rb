# frozen_string_literal: true

require "io/wait"
require "socket"

module TaskerCore
  # A worker's own small HTTP listener (Worker.new(metrics_port:),
  # `tasker-core worker --metrics-port`): GET /metrics in Prometheus' text
  # format and GET /health (200 or 503, JSON). It needs no web server gem:
  # one thread, "tasker_core.metrics", answers one connection at a time and
  # closes it; a client that sends nothing for a few seconds is dropped.
  class MetricsServer
    READ_TIMEOUT = 5
    MAX_HEADER_BYTES = 16_384
    STATUS_TEXT = { 200 => "OK", 404 => "Not Found", 405 => "Method Not Allowed", 500 => "Internal Server Error",
                    503 => "Service Unavailable" }.freeze

    attr_reader :host

    # worker: the TaskerCore::Worker whose metrics and health it serves.
    def initialize(worker:, host:, port:, logger: TaskerCore.logger)
      @worker = worker
      @host = host
      @port = port
      @logger = logger
    end

    # Binds and starts the thread; returns self. Raises ArgumentError
    # naming the address when it cannot bind (in use, not local).
    def start
      @server = TCPServer.new(@host, @port)
      @thread = Thread.new { serve_forever }
      @thread.name = "tasker_core.metrics"
      @thread.report_on_exception = false
      @logger.info("tasker_core: metrics and health on http://#{@host}:#{port}/metrics and /health")
      self
    rescue SystemCallError, SocketError => e
      raise ArgumentError, "metrics listener cannot bind #{@host}:#{@port}: #{e.message}"
    end

    # The port it listens on (the one the system chose for port 0).
    def port = @server ? @server.addr[1] : @port

    def stop
      @thread&.kill&.join(1)
      @server&.close
      @server = @thread = nil
    end

    private

    def serve_forever
      loop do
        client = @server.accept
        begin
          respond(client)
        rescue StandardError => e
          @logger.warn("tasker_core: metrics listener: #{e.class}: #{e.message}")
        ensure
          client.close
        end
      end
    rescue IOError, Errno::EBADF
      nil # closed by #stop
    end

    def respond(client)
      head = read_head(client) or return
      method, path, = head.lines.first.to_s.split
      status, type, body = route(method, path.to_s.split("?").first)
      client.write("HTTP/1.1 #{status} #{STATUS_TEXT.fetch(status)}\r\nContent-Type: #{type}\r\n" \
                   "Content-Length: #{body.bytesize}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n")
      client.write(body) unless method == "HEAD"
    end

    def route(method, path)
      return [405, "text/plain", "only GET and HEAD\n"] unless %w[GET HEAD].include?(method)

      case path
      when "/metrics" then [200, Metrics::Exposition::CONTENT_TYPE, metrics]
      when "/health"
        report = Health.check(worker: @worker)
        [report.http_status, "application/json", "#{JSON.generate(report.to_h)}\n"]
      else [404, "text/plain", "not found: GET /metrics or /health\n"]
      end
    rescue StandardError => e
      [500, "text/plain", "#{e.class}: #{e.message}\n"]
    end

    def metrics
      exposition = Metrics::Exposition.new
      Metrics.write(exposition)
      Metrics::WorkerGauges.write(exposition, @worker)
      Metrics::LibraryGauges.write(exposition)
      exposition.to_s
    end

    # The request line and headers (the body, if any, is ignored), or nil
    # when the client sends nothing in time or too much.
    def read_head(client)
      head = +""
      until head.include?("\r\n\r\n") || head.include?("\n\n")
        return nil if head.bytesize > MAX_HEADER_BYTES || !client.wait_readable(READ_TIMEOUT)

        chunk = client.read_nonblock(4096, exception: false)
        return nil if chunk.nil? # closed
        next if chunk == :wait_readable

        head << chunk
      end
      head
    end
  end
end
