# frozen_string_literal: true

module TaskerCore
  # Resolves "Billing::ChargeCard" to the class with Object.const_get, one
  # segment at a time (no eval, no autoload surprises from a bad string).
  module ClassResolver
    SEGMENT = /\A[A-Z][A-Za-z0-9_]*\z/

    module_function

    # The segments of a class name; raises NameError for anything else
    # (no constant is looked up).
    def check_name!(name)
      segments = name.to_s.delete_prefix("::").split("::")
      return segments unless segments.empty? || !segments.all? { |s| SEGMENT.match?(s) }

      raise NameError, "is not a class name (expected e.g. \"Billing::ChargeCard\", got #{name.inspect})"
    end

    # Returns the constant, or raises NameError with a readable message.
    # With +within+ (a template's module_namespace, e.g. "Onboarding") a
    # relative name is looked up there first ("Onboarding::CreateAccount"),
    # then at the top level; a name starting with "::" only at the top.
    def resolve(name, within: nil)
      if within && !name.to_s.start_with?("::")
        begin
          return resolve("#{within}::#{name}")
        rescue NameError
          nil # not there: the name as given
        end
      end
      segments = check_name!(name)

      segments.reduce(Object) do |scope, segment|
        unless scope.is_a?(Module) && scope.const_defined?(segment, scope.equal?(Object))
          raise NameError, "uninitialized constant #{name} (#{segment} is not defined in #{scope})"
        end

        scope.const_get(segment, scope.equal?(Object))
      end
    end
  end
end
