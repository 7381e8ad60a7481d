# frozen_string_literal: true

module TaskerCore
  class Web
    # Reads request parameters, refusing anything malformed with a
    # BadRequest (400) that names the parameter, before any engine call:
    # ids, page sizes, states, free text. Query and form values arrive as
    # Strings, but a client may send name[]=... or name[k]=... (an Array or
    # a Hash): those are refused too.
    module Params
      MAX_ID = (2**63) - 1
      MAX_TEXT = 500
      MAX_BULK = Operations::MAX_PAGE

      module_function

      # A positive 64-bit id.
      def id(value, name)
        text = string(value, name, max: 20)
        return text.to_i if text.match?(/\A[1-9][0-9]*\z/) && text.to_i <= MAX_ID

        raise BadRequest, "#{name} must be a positive integer below 2^63, got #{text.inspect}"
      end

      def optional_id(value, name) = blank?(value) ? nil : id(value, name)

      # A page size within 1..Operations::MAX_PAGE; nil when absent.
      def limit(value)
        return nil if blank?(value)

        text = string(value, "limit", max: 20)
        n = text.match?(/\A[0-9]+\z/) ? text.to_i : nil
        return n if n&.between?(1, Operations::MAX_PAGE)

        raise BadRequest, "limit must be within 1..#{Operations::MAX_PAGE}, got #{text.inspect}"
      end

      # One task state, or nil for every state.
      def state(value)
        return nil if blank?(value)

        text = string(value, "state", max: 40)
        return text if Operations::TASK_STATES.include?(text)

        raise BadRequest, "state must be one of #{Operations::TASK_STATES.join(', ')}, got #{text.inspect}"
      end

      # Free text (reasons, filters), stripped; nil when blank.
      def text(value, name, max: MAX_TEXT)
        return nil if blank?(value)

        string(value, name, max: max).strip
      end

      # A list of ids from name[]=... fields, 1..MAX_BULK of them.
      def ids(value, name)
        list = value.is_a?(Array) ? value : nil
        raise BadRequest, "#{name} must list the ids to act on (check at least one)" if list.nil? || list.empty?
        raise BadRequest, "#{name} may list at most #{MAX_BULK} ids at once, got #{list.size}" if list.size > MAX_BULK

        list.each_with_index.map { |v, i| id(v, "#{name}[#{i}]") }.uniq
      end

      # JSON text (a resolved step's results); nil when blank.
      def json(value, name, max: 1_000_000)
        return nil if blank?(value)

        JSON.parse(string(value, name, max: max), max_nesting: 100)
      rescue JSON::ParserError => e
        raise BadRequest, "#{name} must be JSON: #{e.message.lines.first.to_s.strip[0, 200]}"
      end

      def string(value, name, max:)
        raise BadRequest, "#{name} must be a single value, got #{value.class.name.downcase}" unless value.is_a?(String)
        raise BadRequest, "#{name} is longer than #{max} characters" if value.length > max
        raise BadRequest, "#{name} is not valid UTF-8" unless value.dup.force_encoding(Encoding::UTF_8).valid_encoding?

        value.dup.force_encoding(Encoding::UTF_8)
      end

      def blank?(value) = value.nil? || (value.is_a?(String) && value.strip.empty?)
    end
  end
end
