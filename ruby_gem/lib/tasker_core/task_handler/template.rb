# frozen_string_literal: true

require "yaml"

module TaskerCore
  module TaskHandler
    # Reads a task template YAML (the original Tasker's shape) and turns it
    # into the library's TemplateSpec. Raises ValidationError naming the file
    # and the problem.
    module Template
      S = Types::Strict

      StepTemplate = Types::Hash.schema(
        name: S::String.constrained(min_size: 1),
        handler_class: S::String.constrained(min_size: 1),
        description?: S::String,
        handler_config?: S::Hash,
        depends_on_step?: S::String | S::Nil,
        depends_on_steps?: S::Array.of(S::String),
        default_retryable?: S::Bool,
        default_retry_limit?: S::Integer.constrained(gteq: 0),
        timeout_seconds?: S::Integer.constrained(gteq: 1, lteq: 604_800),
        dependent_system?: S::String,
        skippable?: S::Bool,
        custom_events?: S::Array
      ).strict.with_key_transform(&:to_sym)

      Document = Types::Hash.schema(
        name: S::String.constrained(min_size: 1),
        namespace_name: S::String.constrained(min_size: 1),
        version: S::String.constrained(min_size: 1),
        task_handler_class?: S::String,
        module_namespace?: S::String | S::Nil,
        description?: S::String,
        identity_strategy?: Types::IdentityStrategy,
        schema?: S::Hash,
        default_dependent_system?: S::String,
        named_steps?: S::Array.of(S::String),
        step_templates: S::Array.of(StepTemplate).constrained(min_size: 1)
      ).strict.with_key_transform(&:to_sym)

      module_function

      # Parses and validates; returns the document with symbol keys.
      def load(path: nil, yaml: nil, source: nil)
        source ||= if String === path then path
                   elsif ::Kernel === path && path.respond_to?(:to_path) then path.to_path
                   else "(inline template)"
                   end
        data = YAML.safe_load(text_of(path, yaml, source), aliases: true)
        raise ValidationError, "template #{source}: expected a mapping at the top, got #{data.class}" unless data.is_a?(Hash)

        check_expansion!(data, source)
        check_unsupported!(Types::FFIInputs.validate!("template #{source}", Document, data), source)
      rescue Psych::SyntaxError, Psych::DisallowedClass, Psych::BadAlias => e
        raise ValidationError, "template #{source}: invalid YAML: #{e.message}"
      rescue SystemCallError => e # ENOENT, EACCES, EISDIR, ...
        raise ValidationError, "template #{source}: cannot read: #{e.message}"
      end

      def text_of(path, yaml, source)
        unless (NilClass === path) ^ (NilClass === yaml)
          raise ValidationError, "template: give exactly one of config_path: (a file) and yaml: (a String)"
        end
        if NilClass === path
          return yaml if String === yaml

          raise ValidationError, "template #{source}: yaml: must be a String, got #{JSONEncoder.describe(yaml)}"
        end
        return File.read(path) if String === path || (::Kernel === path && path.respond_to?(:to_path))

        raise ValidationError, "template #{source}: config_path: must be a path String, got #{JSONEncoder.describe(path)}"
      end

      # Keys of the original's templates this engine does not implement: a
      # template that relies on them is refused rather than run differently.
      def check_unsupported!(doc, source)
        check_named_steps!(doc, source)
        if doc[:default_dependent_system]
          raise ValidationError, "template #{source}: default_dependent_system is not supported; " \
                                 "put what a handler needs to know in its handler_config"
        end
        doc[:step_templates].each_with_index do |st, i|
          where = "template #{source}: step_templates[#{i}] (#{st[:name]})"
          if st[:skippable]
            raise ValidationError, "#{where}: skippable: true is not supported (a step runs, or fails and is retried " \
                                   "or resolved by an operator); remove the key or set it to false"
          end
          unless Array(st[:custom_events]).empty?
            raise ValidationError, "#{where}: custom_events are not supported (TaskerCore.on knows the lifecycle " \
                                   "events: #{Events::NAMES.join(', ')})"
          end
          if st[:dependent_system]
            raise ValidationError, "#{where}: dependent_system is not supported; put what the handler needs to " \
                                   "know in its handler_config"
          end
        end
        doc
      end

      # named_steps, when given, lists every step name the template may use:
      # a step or dependency outside it is a typo the original also refused.
      def check_named_steps!(doc, source)
        allowed = doc[:named_steps]
        return if allowed.nil?

        doc[:step_templates].each_with_index do |st, i|
          names = [st[:name], st[:depends_on_step], *st[:depends_on_steps]].compact
          unknown = names.reject { |n| allowed.include?(n) }
          next if unknown.empty?

          raise ValidationError, "template #{source}: step_templates[#{i}] (#{st[:name]}) uses " \
                                 "#{unknown.map(&:inspect).join(', ')}, not in named_steps #{allowed.inspect}"
        end
      end

      # Most values a template may expand to. YAML aliases share one parsed
      # object, so a few lines can stand for billions of values (an "alias
      # bomb") that validating or encoding would walk: the walk stops here.
      MAX_VALUES = 100_000

      def check_expansion!(data, source)
        seen = 0
        stack = [data]
        until stack.empty?
          value = stack.pop
          seen += 1
          if seen > MAX_VALUES
            raise ValidationError, "template #{source}: expands to more than #{MAX_VALUES} values " \
                                   "(YAML aliases that repeat one another?)"
          end
          case value
          when Hash then value.each_value { |v| stack.push(v) }
          when Array then stack.concat(value)
          end
        end
      end

      # The TemplateSpec Hash for tasker_template_register.
      def to_spec(doc)
        spec = { namespace: doc[:namespace_name], name: doc[:name], version: doc[:version],
                 steps: doc[:step_templates].map { |st| step_spec(st) } }
        spec[:description] = doc[:description] if doc[:description]
        spec[:identity_strategy] = doc[:identity_strategy] if doc[:identity_strategy]
        spec[:context_schema] = doc[:schema] if doc[:schema]
        spec
      end

      def step_spec(st)
        deps = [st[:depends_on_step], *st[:depends_on_steps]].compact.uniq
        spec = { name: st[:name], handler: st[:handler_class], depends_on: deps }
        spec[:description] = st[:description] if st[:description]
        spec[:handler_config] = st[:handler_config] if st[:handler_config]
        spec[:retryable] = st[:default_retryable] unless st[:default_retryable].nil?
        spec[:retry_limit] = st[:default_retry_limit] unless st[:default_retry_limit].nil?
        spec[:timeout_seconds] = st[:timeout_seconds] if st[:timeout_seconds]
        spec
      end
    end
  end
end
