# frozen_string_literal: true

module TaskerCore
  module StepHandler
    class ActiveJobStep < Base
      # Where an ActiveJob step's arguments come from, compiled once from its
      # handler_config. Each source is
      #   "context"                   the whole task context
      #   "context.user.id"           a value in it (a number indexes an array)
      #   "results.<step>"            an ancestor step's results
      #   "results.<step>.account_id" a value in them
      #   { "value" => 42 }           a literal
      # A source that names nothing (a missing key, a step that is not an
      # ancestor) fails the step permanently: the context and the results of
      # finished steps do not change, so a retry would fail the same way.
      class Arguments
        PATH = /\A(?:context|results\.[^.]+)(?:\.[^.]+)*\z/.freeze
        FORMS = '"context", "context.<key>...", "results.<step>", "results.<step>.<key>..." or {"value" => ...}'

        # Raises ValidationError naming the handler_config entry that is not a source.
        def initialize(positional, keywords)
          @positional = positional.each_with_index.map { |src, i| compile(src, "handler_config.arguments[#{i}]") }.freeze
          @keywords = keywords.to_h do |name, src|
            unless (name.is_a?(String) || name.is_a?(Symbol)) && !name.empty?
              raise ValidationError, "handler_config.keyword_arguments: #{name.inspect} is not a keyword name"
            end

            [name.to_sym, compile(src, "handler_config.keyword_arguments.#{name}")]
          end.freeze
          freeze
        end

        # The positional arguments for this task, as fresh (unfrozen) copies,
        # as a queue would deserialize them.
        def positional(task, sequence)
          @positional.map { |source| resolve(source, task, sequence) }
        end

        def keywords(task, sequence)
          @keywords.transform_values { |source| resolve(source, task, sequence) }
        end

        private

        def compile(src, where)
          if src.is_a?(Hash) && src.size == 1 && (src.key?("value") || src.key?(:value))
            value = src.key?("value") ? src["value"] : src[:value]
            JSONEncoder.check!(value, where)
            return [:value, where, value]
          end
          raise ValidationError, "#{where}: expected #{FORMS}, got #{JSONEncoder.describe(src)}" unless src.is_a?(String) && PATH.match?(src)

          root, *keys = src.split(".")
          root == "context" ? [:context, where, src, keys] : [:results, where, src, keys.drop(1), keys.first]
        end

        def resolve(source, task, sequence)
          kind, where, path, keys, step = source
          value = case kind
                  when :value then path
                  when :context then dig(task.context, keys, where, path, "context")
                  else dig(result_of(sequence, step, where), keys, where, path, "results.#{step}")
                  end
          copy(value)
        end

        def result_of(sequence, step, where)
          sequence.result_of(step)
        rescue NotFoundError => e
          raise PermanentError.new("#{where}: #{e.message}", error_code: "argument_not_found")
        end

        # walked: the part of path already followed, named in the error.
        def dig(value, keys, where, path, walked)
          keys.each do |key|
            value = case value
                    when Hash then value.fetch(key) { missing!(where, path, "#{walked} has no key #{key.inspect}") }
                    when Array
                      index = /\A\d+\z/.match?(key) ? key.to_i : nil
                      index && index < value.size ? value[index] : missing!(where, path, "#{walked} has no element #{key}")
                    else missing!(where, path, "#{walked} is #{JSONEncoder.describe(value)}, not an object or array")
                    end
            walked = "#{walked}.#{key}"
          end
          value
        end

        def missing!(where, path, problem)
          raise PermanentError.new("#{where}: #{path} not found: #{problem}", error_code: "argument_not_found")
        end

        def copy(value)
          case value
          when Hash then value.transform_values { |v| copy(v) }
          when Array then value.map { |v| copy(v) }
          when String then value.dup
          else value
          end
        end
      end
    end
  end
end
