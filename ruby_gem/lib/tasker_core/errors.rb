# frozen_string_literal: true

module TaskerCore
  # Base of every error the gem raises. #code is the stable ABI code
  # ("validation", "not_found", ...) and #details the facts as a Hash with
  # string keys, so no caller ever parses a message.
  class Error < StandardError
    attr_reader :code, :details

    def initialize(message = nil, code: nil, details: {})
      super(message)
      @code = code || self.class.default_code
      @details = details || {}
    end

    def self.default_code
      nil
    end

    # code => class, filled by .code!
    REGISTRY = {} # rubocop:disable Style/MutableConstant

    def self.code!(code)
      REGISTRY[code] = self
      define_singleton_method(:default_code) { code }
    end

    # Builds the exception for a status code and the library's error JSON
    # (already parsed, may be nil).
    def self.from_status(rc, payload, operation: nil)
      payload ||= {}
      code = payload["code"] || CODES_BY_STATUS.fetch(rc, "internal")
      details = payload["details"] || {}
      klass = REGISTRY.fetch(code, InternalError)
      klass = LockTimeoutError if klass == TimeoutError && details["reason"] == "lock_timeout"
      message = payload["message"] || "#{operation || 'call'} failed with status #{rc}"
      klass.new(message, code: code, details: details)
    end
  end

  class ValidationError < Error; code! "validation"; end
  class NotFoundError < Error; code! "not_found"; end
  class ConflictError < Error; code! "conflict"; end
  class InvalidTransitionError < Error; code! "invalid_transition"; end
  class StaleClaimError < Error; code! "stale_claim"; end
  class TimeoutError < Error; code! "timeout"; end
  class DatabaseError < Error; code! "database"; end
  class InternalError < Error; code! "internal"; end
  class AbiError < Error; code! "abi"; end
  class InvalidHandleError < Error; code! "invalid_handle"; end
  class NotInitializedError < Error; code! "not_initialized"; end
  # A dispatcher that is quiet or stopped hands out no more steps: the
  # processor asking should exit. Not a failure.
  class ShutdownError < Error; code! "shutdown"; end

  # A statement of the engine gave up waiting for a lock another transaction
  # holds on tasker_* tables (the engine's lock_timeout_ms, which
  # TaskerCore::Testing sets). Its code is "timeout", so rescuing
  # TimeoutError catches it too. #holders are the sessions that held locks
  # (Hashes: "pid", "application_name", "state", "query", "locks", ...).
  #
  # In a test suite this is nearly always the test's own transaction: a
  # TRUNCATE or DELETE of engine tables inside a transactional fixture keeps
  # its lock until the example ends, while the engine, on connections of its
  # own, waits for it. The message says so.
  class LockTimeoutError < TimeoutError
    ADVICE = "Probably a TRUNCATE or DELETE of tasker_* tables inside a transactional fixture: the test's " \
             "transaction keeps that lock until the example ends, while the engine waits for it on connections " \
             "of its own. Don't touch tasker_* tables from the app's connection (leave them out of " \
             "DatabaseCleaner too): TaskerCore::Testing purges the tasks each example created, and " \
             "TaskerCore::Testing.reset! empties the engine"

    def initialize(message = nil, code: "timeout", details: {})
      super("#{message}. #{ADVICE}", code: code, details: details)
    end

    def holders = details["holders"] || []
  end

  # A task request whose identity matches an existing task.
  class DuplicateTaskError < Error
    code! "duplicate"
    def existing_task_id = details["existing_task_id"]
  end

  # A one-step claim on a step that cannot run now; #reason is
  # "dependencies_unmet", "in_backoff", "claimed", "already_done" or "blocked".
  class NotReadyError < Error
    code! "not_ready"
    def reason = details["reason"]
  end

  # The library was loaded in an ancestor process: the Go runtime cannot run
  # after fork, so the call is refused instead of hanging.
  class ForkError < Error; code! "fork"; end

  # The library speaks another ABI version than this gem.
  class AbiMismatchError < Error; code! "abi_mismatch"; end

  # The native library file could not be found or opened.
  class LibraryNotFoundError < Error; code! "library_not_found"; end

  # rc → code, as in bindings/ABI.md, for errors that arrive without JSON.
  CODES_BY_STATUS = {
    1 => "validation", 2 => "not_found", 3 => "duplicate", 4 => "conflict",
    5 => "invalid_transition", 6 => "stale_claim", 7 => "not_ready", 8 => "timeout",
    9 => "database", 10 => "internal", 11 => "abi", 12 => "invalid_handle", 13 => "not_initialized",
    14 => "shutdown"
  }.freeze

  # Raised by a step handler: the attempt failed and may be retried (if the
  # step has attempts left), after retry_after seconds when given.
  class RetryableError < StandardError
    attr_reader :retry_after, :context

    def initialize(message = nil, retry_after: nil, context: {})
      super(message)
      if retry_after && !(retry_after.is_a?(Numeric) && retry_after.finite? && retry_after >= 0)
        raise ArgumentError, "retry_after must be a finite number of seconds >= 0, got #{retry_after.inspect}"
      end

      @retry_after = retry_after
      @context = context
    end
  end

  # Raised by the worker's watchdog into a processor thread whose step ran
  # past its timeout_seconds (the library has already failed that attempt as
  # retryable, with this class name). An Exception, not a StandardError, so a
  # handler's `rescue => e` does not swallow it.
  class StepTimeoutError < Exception # rubocop:disable Lint/InheritException
  end

  # Raised into a processor thread whose handler is still running when the
  # worker's stop deadline passes: the step is not reported, and the library
  # gives it back (pending again, the attempt not counted). An Interrupt, as
  # in Sidekiq, so handlers rescuing StandardError let it through.
  class Shutdown < Interrupt
  end

  # Raised by a step handler: the step fails for good, whatever attempts are left.
  class PermanentError < StandardError
    attr_reader :error_code, :context

    def initialize(message = nil, error_code: nil, context: {})
      super(message)
      @error_code = error_code
      @context = context
    end
  end
end
