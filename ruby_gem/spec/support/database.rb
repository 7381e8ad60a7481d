# frozen_string_literal: true

require "uri"

# Creates and drops the suite's own database with psql on the server of
# DATABASE_URL (only the server part of that URL is used).
module SpecDatabase
  module_function

  def server_url
    ENV.fetch("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
  end

  def name
    @name ||= "tasker_rspec_#{Process.pid}_#{SecureRandom.hex(3)}"
  end

  def url(database = name)
    uri = URI.parse(server_url)
    uri.path = "/#{database}"
    uri.to_s
  end

  def admin_url
    url("postgres")
  end

  def create!
    psql!(admin_url, "CREATE DATABASE #{name}")
  end

  def drop!
    psql!(admin_url, "DROP DATABASE IF EXISTS #{name} WITH (FORCE)")
  end

  # Runs SQL on the suite's database; returns stdout.
  def query(sql)
    psql!(url, sql)
  end

  def psql!(target, sql)
    out = IO.popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", target, "-c", sql], err: %i[child out], &:read)
    raise "psql failed (#{$?.exitstatus}): #{out}" unless $?.success?

    out
  end
end
