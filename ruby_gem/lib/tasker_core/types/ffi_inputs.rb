# frozen_string_literal: true

module TaskerCore
  module Types
    # Strict hash schemas for every input that crosses into the library. Keys
    # may be strings or symbols; a trailing ? marks an optional key; unknown
    # keys are errors. FFIInputs.validate!(:initialize_task, TaskRequest, h)
    # re-raises dry-types errors as TaskerCore::ValidationError prefixed with
    # the operation.
    module FFIInputs
      S = Types::Strict

      def self.schema(keys)
        Types::Hash.schema(keys).strict.with_key_transform(&:to_sym)
      end

      # initialize_task's input, and request_task's (which the engine reads
      # back later, so what it can check now it checks here): the byte limits
      # are the engine's.
      TaskRequest = schema(
        namespace: S::String.constrained(min_size: 1),
        name: S::String.constrained(min_size: 1),
        version?: S::String,
        context: Types::JSONObject,
        initiator?: S::String.constrained(max_bytesize: 128),
        source_system?: S::String.constrained(max_bytesize: 128),
        reason?: S::String.constrained(max_bytesize: 128),
        tags?: S::Array.of(S::String),
        priority?: Types::Priority,
        idempotency_key?: S::String.constrained(max_bytesize: 255),
        identity_strategy?: Types::IdentityStrategy
      )

      TaskRequestList = schema(
        status?: S::String.enum("pending", "created", "duplicate", "failed"),
        limit?: S::Integer.constrained(gteq: 1, lteq: 1000),
        after_id?: S::Integer.constrained(gteq: 0, lteq: (2**63) - 1)
      )

      StepSpec = schema(
        name: S::String.constrained(min_size: 1),
        description?: S::String,
        handler: S::String.constrained(min_size: 1),
        handler_config?: Types::JSONObject,
        depends_on?: S::Array.of(S::String),
        retryable?: S::Bool,
        retry_limit?: S::Integer.constrained(gteq: 0),
        timeout_seconds?: S::Integer.constrained(gteq: 1, lteq: 604_800)
      )

      Template = schema(
        namespace: S::String.constrained(min_size: 1),
        name: S::String.constrained(min_size: 1),
        version: S::String.constrained(min_size: 1),
        description?: S::String,
        identity_strategy?: Types::IdentityStrategy,
        context_schema?: Types::JSONObject,
        steps: S::Array.of(StepSpec).constrained(min_size: 1)
      )

      Claim = schema(
        namespaces?: S::Array.of(S::String.constrained(min_size: 1)),
        limit: S::Integer.constrained(gteq: 1, lteq: 1000),
        worker_id: S::String.constrained(min_size: 1),
        lease_ms?: S::Integer.constrained(gteq: 1)
      )

      ClaimOne = schema(
        step_id: Types::PositiveId,
        worker_id: S::String.constrained(min_size: 1),
        lease_ms?: S::Integer.constrained(gteq: 1)
      )

      AncestorResults = schema(
        step_id: Types::PositiveId,
        claim_token: S::String,
        names: S::Array.of(S::String.constrained(min_size: 1)).constrained(min_size: 1)
      )

      Heartbeat = schema(step_id: Types::PositiveId, claim_token: S::String, lease_ms?: S::Integer.constrained(gteq: 1))

      StepCompletion = schema(step_id: Types::PositiveId, claim_token: S::String, results: Types::Any)

      StepError = schema(class?: S::String, message: S::String, backtrace?: S::Array.of(S::String))

      StepFailure = schema(
        step_id: Types::PositiveId,
        claim_token: S::String,
        error: StepError,
        permanent?: S::Bool,
        backoff_seconds?: S::Float | S::Integer
      )

      Release = schema(step_id: Types::PositiveId, claim_token: S::String, reason?: S::String)

      ResolveStep = schema(step_id: Types::PositiveId, reason?: S::String, results?: Types::Any)
      TaskAction = schema(task_id: Types::PositiveId, reason?: S::String)

      # The library's cap on the ids of one purge (tt.MaxPurgeTaskIDs).
      MAX_PURGE_TASK_IDS = 10_000
      PurgeTasks = schema(
        task_ids: S::Array.of(Types::PositiveId).constrained(min_size: 1, max_size: MAX_PURGE_TASK_IDS),
        skip_missing?: S::Bool,
        force?: S::Bool
      )
      PurgeAllTasks = schema(force?: S::Bool)
      TaskList = schema(
        states?: S::Array.of(S::String),
        namespace?: S::String.constrained(min_size: 1),
        name?: S::String.constrained(min_size: 1),
        version?: S::String.constrained(min_size: 1),
        older_than_seconds?: S::Integer.constrained(gteq: 0),
        newer_than_seconds?: S::Integer.constrained(gteq: 0),
        before_task_id?: S::Integer.constrained(gteq: 0, lteq: (2**63) - 1),
        limit?: S::Integer.constrained(gteq: 1, lteq: 500)
      )
      Stats = schema(minutes?: S::Integer.constrained(gteq: 1, lteq: 1440))
      Stuck = schema(
        default_step_timeout_ms?: S::Integer.constrained(gteq: 1, lteq: 604_800_000),
        grace_ms?: S::Integer.constrained(gteq: 0, lteq: 604_800_000),
        limit?: S::Integer.constrained(gteq: 1, lteq: 1000)
      )

      Milliseconds = S::Integer.constrained(gteq: 0, lteq: 86_400_000)
      TemplateKey = schema(namespace: S::String.constrained(min_size: 1), name: S::String.constrained(min_size: 1),
                           version: S::String.constrained(min_size: 1))
      DispatcherConfig = schema(
        worker_id: S::String.constrained(min_size: 1, max_size: 255),
        namespaces?: S::Array.of(S::String.constrained(min_size: 1)),
        templates?: S::Array.of(TemplateKey),
        lease_ms?: Milliseconds,
        default_step_timeout_ms?: Milliseconds,
        fetch_cooldown_ms?: Milliseconds,
        fetch_poll_interval_ms?: Milliseconds,
        max_batch?: S::Integer.constrained(gteq: 1, lteq: 1000),
        rescue_interval_ms?: Milliseconds,
        stuck_interval_ms?: Milliseconds
      )

      # Returns the validated, symbol-keyed hash; raises ValidationError.
      def self.validate!(operation, type, input)
        unless ::Hash === input
          got = ::Kernel === input ? input.class : JSONEncoder.describe(input)
          raise ValidationError.new("#{operation}: expected a Hash, got #{got}",
                                    details: { "operation" => operation.to_s })
        end
        # dry-types calls #is_a? on every value it checks, which a
        # BasicObject lacks: name the field instead of a NoMethodError.
        input.each do |key, value|
          next if ::Kernel === value

          raise ValidationError.new("#{operation}: #{key.inspect} is #{JSONEncoder.describe(value)}, not a value",
                                    details: { "operation" => operation.to_s, "field" => key.to_s })
        end
        type.call(input)
      rescue Dry::Types::CoercionError, Dry::Types::ConstraintError, Dry::Types::SchemaError,
             Dry::Types::MissingKeyError, Dry::Types::UnknownKeysError => e
        raise ValidationError.new("#{operation}: #{e.message}", details: { "operation" => operation.to_s })
      rescue NoMethodError => e
        raise if ::Kernel === e.receiver

        raise ValidationError.new("#{operation}: a nested value is #{JSONEncoder.describe(e.receiver)}, not a value",
                                  details: { "operation" => operation.to_s })
      end
    end
  end
end
