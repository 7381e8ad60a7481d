# frozen_string_literal: true

require "logger"

module TaskerCore
  # The gem's settings. Read DEFAULTS top to bottom; change them with
  # TaskerCore.configure { |c| c.database_url = "..." }. Settings marked
  # (engine) reach the library through tasker_init when it is first loaded;
  # changing them afterwards has no effect until TaskerCore.shutdown.
  class Config
    DEFAULTS = {
      database_url: nil,            # (engine) PostgreSQL URL; else ENV["TASKER_DATABASE_URL"], else ENV["DATABASE_URL"], else ./config/database.yml
      pool_size: 10,                # (engine) connections in this process's pool: size it to your thread count
      gomaxprocs: nil,              # (engine) Go threads; nil leaves Go's default
      memory_limit_bytes: nil,      # (engine) soft cap on the Go heap
      log_level: "warn",            # (engine) "debug" | "info" | "warn" | "error"
      default_timeout_ms: 30_000,   # (engine) deadline of a call that gives none
      default_lease_ms: 30_000,     # (engine) claim lease when a worker gives none
      connect_timeout_ms: 10_000,   # (engine)
      backoff: nil,                 # (engine) {base_ms:, multiplier:, max_ms:, jitter_fraction:}
      lock_timeout_ms: nil,         # (engine) give up waiting for a lock another transaction holds after this long
                                    # (LockTimeoutError); nil waits. TaskerCore::Testing.enable! sets 3_000
      pgbouncer: nil,               # (engine) true: database_url goes through PgBouncer in transaction mode (no prepared
                                    # statements, no LISTEN through it); nil reads ENV["TASKER_PGBOUNCER"] (1/true/yes)
      listen_database_url: nil,     # (engine) a direct PostgreSQL URL (not through PgBouncer) workers LISTEN on; else
                                    # ENV["TASKER_LISTEN_DATABASE_URL"]; none behind PgBouncer: workers poll
      call_timeout_ms: 0,           # per-call timeout passed to every export; 0 = the engine's default
      logger: nil,                  # a Logger; nil logs warnings to $stderr
      worker_threads: 2,            # TaskerCore::Worker defaults: processor threads
      worker_namespaces: [],        # [] = the namespaces of the registered task handlers; :all = every namespace
      worker_lease_ms: 30_000,      # claim lease; the library extends running steps' leases every third of it
      worker_step_timeout: 300,     # seconds a step may run when its template sets no timeout_seconds
      worker_poll_interval: 1.0,    # seconds between claims while processors wait and no NOTIFY arrives
      worker_timeout_grace: 5,      # seconds a timed-out handler gets to unwind before its thread is abandoned
      worker_metrics_port: nil,     # a port for the worker's own GET /metrics and /health listener; nil: none
      worker_metrics_host: "127.0.0.1", # the address it binds ("0.0.0.0" for probes and scrapes from other hosts)
      template_paths: [],           # YAML templates the CLI worker registers
      step_wrapper: nil,            # an object whose #wrap { } runs around each handler: Rails.application.executor
                                    # (the reloader in development) in a Rails app, set by the Railtie
      error_reporter: nil           # a callable(exception, context Hash) told of every exception a handler raised
                                    # (Sentry, Honeybadger, Bugsnag, ...); its own errors are logged, never raised
    }.freeze

    ENGINE_KEYS = %i[database_url pool_size gomaxprocs memory_limit_bytes log_level default_timeout_ms
                     default_lease_ms connect_timeout_ms backoff lock_timeout_ms].freeze

    DEFAULTS.each_key do |key|
      next if key == :logger

      define_method(key) { @values[key] }
      define_method(:"#{key}=") { |value| @values[key] = value }
    end

    def initialize(**overrides)
      @values = DEFAULTS.dup
      overrides.each { |k, v| self[k] = v }
    end

    def [](key)
      @values.fetch(key.to_sym) { raise ArgumentError, unknown(key) }
    end

    def []=(key, value)
      raise ArgumentError, unknown(key) unless @values.key?(key.to_sym)

      @values[key.to_sym] = value
    end

    def resolved_database_url
      database_url || ENV["TASKER_DATABASE_URL"] || ENV.fetch("DATABASE_URL", nil) || DatabaseURL.from_database_yml
    end

    # The configured logger, else warnings to $stderr (not remembered as
    # configured, so the Railtie can still hand over Rails.logger).
    # pgbouncer, else ENV["TASKER_PGBOUNCER"]: true or false.
    def resolved_pgbouncer
      value = pgbouncer.nil? ? ENV.fetch("TASKER_PGBOUNCER", "") : pgbouncer
      case value
      when true, false then value
      when /\A(1|true|yes)\z/i then true
      when /\A(0|false|no|)\z/i then false
      else
        source = pgbouncer.nil? ? "ENV[\"TASKER_PGBOUNCER\"]" : "pgbouncer"
        raise ValidationError.new("#{source} must be true or false (1/true/yes, 0/false/no), got #{value.inspect}",
                                  details: { "field" => "pgbouncer" })
      end
    end

    def resolved_listen_database_url
      url = listen_database_url || ENV.fetch("TASKER_LISTEN_DATABASE_URL", nil)
      url.nil? || url.empty? ? nil : url
    end

    def logger
      @values[:logger] || (@default_logger ||= Logger.new($stderr, level: Logger::WARN, progname: "tasker_core"))
    end

    def logger=(logger)
      @values[:logger] = logger
    end

    # True once a logger was set (TaskerCore.configure, the Railtie).
    def logger_configured? = !@values[:logger].nil?

    # The JSON object for tasker_init: engine keys that are set.
    def engine_config
      url = resolved_database_url
      if url.nil? || url.empty?
        raise NotInitializedError.new(
          "no database URL: set TaskerCore.configure { |c| c.database_url = \"postgres://...\" } " \
          "or ENV[\"DATABASE_URL\"] (read when the process started), or run in an app with config/database.yml", code: "not_initialized"
        )
      end
      config = ENGINE_KEYS.each_with_object({}) { |k, h| h[k] = @values[k] unless @values[k].nil? }.merge(database_url: url)
      config[:pgbouncer] = true if resolved_pgbouncer
      listen = resolved_listen_database_url
      config[:listen_database_url] = listen if listen
      config
    end

    # Leaves out the logger and the password so logs stay readable and safe.
    def inspect
      shown = @values.reject { |k, _| k == :logger }
      %i[database_url listen_database_url].each do |key|
        shown[key] = shown[key].to_s.sub(%r{//([^:/@]+):[^@]*@}, '//\1:***@') if shown[key]
      end
      "#<TaskerCore::Config #{shown.inspect}>"
    end

    private

    def unknown(key)
      "unknown setting #{key.inspect}; valid settings: #{DEFAULTS.keys.join(', ')}"
    end
  end
end
