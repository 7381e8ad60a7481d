# frozen_string_literal: true

module TaskerCore
  # Writes task requests (TaskerCore.request_task) into the outbox table
  # tasker_task_requests on the application's own database connection, so
  # starting a task joins the application's transaction: a rollback leaves no
  # request, and a commit wakes the workers (the table's trigger NOTIFYs),
  # whose dispatchers create the task. The library is not involved: its own
  # connections could not join the caller's transaction.
  #
  # The connection is an ActiveRecord connection (exec_query with binds), a
  # PG::Connection (exec_params), or anything whose #connection is one (a
  # model class); ActiveRecord::Base.connection when none is given and
  # ActiveRecord is loaded. The gem does not depend on either.
  module Outbox
    # core/store/queries/tasker_task_requests.sql, TaskRequestInsert. to_json
    # gives requested_at in ISO 8601, as the library's JSON does.
    INSERT_SQL = "INSERT INTO tasker_task_requests (request) VALUES ($1::json) " \
                 "RETURNING task_request_id, to_json(requested_at) #>> '{}'"
    SQL_NAME = "TaskerCore request_task"
    NUL_PROBLEM = "must not contain the escape \\u0000, which PostgreSQL's jsonb cannot store"

    module_function

    # Validates request as initialize_task does (ValidationError naming the
    # field, before anything is written), registers the task handlers
    # defined in this process that are not registered yet (through the
    # library, committed on its own, as initialize_task does), then inserts
    # the request on connection. Returns the pending TaskRequestStatus.
    def write(request, connection)
      params = Types::FFIInputs.validate!(:request_task, Types::FFIInputs::TaskRequest, request)
      json = JSONEncoder.encode!(params, what: "request_task")
      check_context!(params[:context])
      OrchestrationManager.instance.flush_pending!
      id, requested_at = insert(resolve(connection), json)
      Types::FFIOutputs::TaskRequestStatus.from_h({
        "task_request_id" => id, "status" => "pending", "namespace" => params[:namespace], "name" => params[:name],
        "version" => params[:version].to_s, "request" => JSON.parse(json), "task_id" => nil, "error" => nil,
        "attempts" => 0, "requested_at" => requested_at, "processed_at" => nil
      })
    end

    # What the engine would refuse in a context whatever its template:
    # a key given twice once encoded ("a" and :a), and NUL characters.
    def check_context!(context)
      stack = [[context, "context"]]
      until stack.empty?
        value, path = stack.pop
        case value
        when ::Hash
          seen = {}
          value.each do |k, v|
            key = k.to_s
            invalid!(path, "has the key #{key.inspect} more than once (say which value you mean)") if seen[key]
            seen[key] = true
            invalid!("#{path}.#{key}", "key #{NUL_PROBLEM}") if key.include?("\u0000")
            stack.push([v, "#{path}.#{key}"])
          end
        when ::Array then value.each_with_index { |v, i| stack.push([v, "#{path}[#{i}]"]) }
        when ::String then invalid!(path, "string #{NUL_PROBLEM}") if value.include?("\u0000")
        end
      end
    end

    def invalid!(field, problem)
      raise ValidationError.new("request_task: #{field}: #{problem}",
                                details: { "operation" => "request_task", "field" => field })
    end

    def resolve(connection)
      connection ||= default_connection
      return connection if connection.respond_to?(:exec_query) || connection.respond_to?(:exec_params)
      return connection.connection if connection.respond_to?(:connection)

      raise ArgumentError, "request_task: connection must be an ActiveRecord connection or a PG::Connection, " \
                           "got #{JSONEncoder.describe(connection)}"
    end

    def default_connection
      return ::ActiveRecord::Base.connection if defined?(::ActiveRecord::Base)

      raise ArgumentError, "request_task: pass connection: (an ActiveRecord connection or a PG::Connection); " \
                           "ActiveRecord is not loaded"
    end

    def insert(connection, json)
      row = if connection.respond_to?(:exec_query)
              bind = ::ActiveRecord::Relation::QueryAttribute.new("request", json, ::ActiveModel::Type::String.new)
              connection.exec_query(INSERT_SQL, SQL_NAME, [bind]).rows.first
            else
              connection.exec_params(INSERT_SQL, [json]).values.first
            end
      [Integer(row[0]), row[1]]
    rescue StandardError => e
      raise unless missing_table?(e)

      raise DatabaseError.new(
        "request_task: the connection's database has no tasker_task_requests table; run TaskerCore.migrate " \
        "(tasker-core migrate) against it. The engine's tables must live in the application's database for " \
        "request_task to join its transactions",
        details: { "operation" => "request_task", "table" => "tasker_task_requests" }
      )
    end

    def missing_table?(error)
      return false unless defined?(::PG::UndefinedTable)

      error.is_a?(::PG::UndefinedTable) || error.cause.is_a?(::PG::UndefinedTable)
    end
  end
end
