# frozen_string_literal: true

module TaskerCore
  # Turns an ActiveRecord database configuration (a config/database.yml
  # entry) into the URL tasker_init takes, the way libpq would read the same
  # settings: user, password and database name percent-escaped, a host that
  # is a directory used as the Unix socket, no host meaning libpq's default
  # socket, and the connection options that change how to connect (sslmode,
  # certificates, timeouts, application_name) kept.
  module DatabaseURL
    # database.yml keys passed on as URL parameters under libpq's names.
    PARAMETERS = {
      "sslmode" => "sslmode", "sslrootcert" => "sslrootcert", "sslcert" => "sslcert", "sslkey" => "sslkey",
      "sslpassword" => "sslpassword", "connect_timeout" => "connect_timeout",
      "application_name" => "application_name", "target_session_attrs" => "target_session_attrs",
      "options" => "options", "keepalives" => "keepalives", "keepalives_idle" => "keepalives_idle"
    }.freeze

    module_function

    # The URL of config/database.yml (ERB evaluated) for RAILS_ENV (else
    # RACK_ENV, else development), its primary entry in a multi-database
    # file; nil without the file or the entry. What the CLI uses in an app
    # directory when no URL is set.
    def from_database_yml(path = File.join(Dir.pwd, "config", "database.yml"),
                          env: ENV["RAILS_ENV"] || ENV["RACK_ENV"] || "development")
      return nil unless File.file?(path)

      require "erb"
      require "yaml"
      doc = YAML.safe_load(ERB.new(File.read(path)).result, aliases: true)
      entry = doc.is_a?(Hash) ? doc[env] : nil
      entry = entry["primary"] if entry.is_a?(Hash) && entry["primary"].is_a?(Hash)
      entry.is_a?(Hash) ? from_config(entry) : nil
    rescue StandardError, SyntaxError => e
      raise ValidationError, "#{path}: cannot read the #{env} database: #{e.message}"
    end

    # The URL of +config+ (a Hash with String or Symbol keys); its "url" when
    # it has one.
    def from_config(config)
      db = config.to_h.transform_keys(&:to_s)
      return db["url"].to_s if db["url"] && !db["url"].to_s.empty?

      query = {}
      host = db["host"].to_s
      if host.start_with?("/")
        query["host"] = host
        host = ""
      end
      host = "[#{host}]" if host.include?(":") # an IPv6 address
      PARAMETERS.each { |key, name| query[name] = db[key].to_s if db.key?(key) && !db[key].nil? }
      url = +"postgres://#{userinfo(db)}#{host}"
      url << ":#{Integer(db['port'])}" if db["port"]
      url << "/#{escape(db['database'].to_s)}"
      url << "?#{query.map { |k, v| "#{k}=#{escape(v)}" }.join('&')}" unless query.empty?
      url
    end

    def userinfo(db)
      user = db["username"] || db["user"]
      return "" if user.nil?

      password = db["password"].nil? ? "" : ":#{escape(db['password'].to_s)}"
      "#{escape(user.to_s)}#{password}@"
    end

    # Percent-escapes all but RFC 3986's unreserved characters.
    def escape(text)
      text.to_s.b.gsub(/[^A-Za-z0-9\-._~]/) { |c| format("%%%02X", c.ord) }
    end
  end
end
