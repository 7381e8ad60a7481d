# frozen_string_literal: true

require "json"

module TaskerCore
  # Encodes step results and task contexts to JSON strictly: only Hash
  # (String or Symbol keys), Array, String (valid UTF-8), Integer, finite
  # Float, true, false and nil. Anything else (invalid UTF-8, NaN,
  # Infinity, Time, Symbol values, BigDecimal, arbitrary objects) raises
  # EncodingError naming the path of the offending value, before anything
  # is sent to the library.
  #
  # A NUL character ("\u0000") is encoded like any other: step results are
  # stored in a json column, byte for byte, so it round-trips. Task contexts,
  # handler_config and context schemas are stored as jsonb, which cannot
  # hold it; the engine rejects those with a ValidationError naming the
  # field ("context.x: string must not contain the escape \u0000 ...") and
  # writes nothing.
  module JSONEncoder
    MAX_DEPTH = 10_000

    # Raised for a value that has no exact JSON form.
    class EncodingError < TaskerCore::ValidationError; end

    module_function

    def encode!(value, what: "value")
      check!(value, what)
      JSON.generate(value, allow_nan: false, max_nesting: false)
    end

    # True when check! would accept the value. Walks it without building
    # the paths check! names in its errors (check! repeats the walk only
    # when this says no), iteratively like check!.
    def valid?(root)
      stack = [root, 0]
      until stack.empty?
        depth = stack.pop
        value = stack.pop
        return false if depth > MAX_DEPTH

        case value
        when ::Hash
          value.each do |k, v|
            case k
            when ::String then return false unless utf8?(k)
            when ::Symbol then return false unless utf8?(k.to_s)
            else return false
            end
            stack.push(v, depth + 1)
          end
        when ::Array then value.each { |v| stack.push(v, depth + 1) }
        when ::String then return false unless utf8?(value)
        when ::Integer, true, false, nil then nil
        when ::Float then return false unless value.finite?
        else return false
        end
      end
      true
    end

    # Walks the value iteratively (deep documents cannot blow the stack).
    def check!(root, what)
      stack = [[root, what, 0]]
      until stack.empty?
        value, path, depth = stack.pop
        raise EncodingError, "#{path}: nested deeper than #{MAX_DEPTH} levels" if depth > MAX_DEPTH

        case value
        when ::Hash
          value.each do |k, v|
            unless k.is_a?(::String) || k.is_a?(::Symbol)
              raise EncodingError, "#{path}: hash key #{describe(k)} is not a String or Symbol"
            end

            check_string!(k.to_s, "#{path} key #{k.to_s.inspect}")
            stack.push([v, "#{path}[#{k.to_s.inspect}]", depth + 1])
          end
        when ::Array then value.each_with_index { |v, i| stack.push([v, "#{path}[#{i}]", depth + 1]) }
        when ::String then check_string!(value, path)
        when ::Integer, true, false, nil then nil
        when ::Float
          raise EncodingError, "#{path}: #{value} is not a finite number and has no JSON form" unless value.finite?
        else
          raise EncodingError, "#{path}: #{describe(value)} cannot be encoded as JSON; " \
                               "return only Hash, Array, String, Integer, Float, true, false or nil"
        end
      end
    end

    # "value (Class)" for any object, a BasicObject (which has neither
    # #inspect nor #class) included.
    def describe(value)
      return "#{value.inspect[0, 80]} (#{value.class})" if ::Kernel === value

      "an instance of #{(class << value; self; end).superclass}"
    end

    def check_string!(value, path)
      raise EncodingError, "#{path}: string is not valid UTF-8 (#{value.encoding})" unless utf8?(value)
    end

    def utf8?(value)
      value.encoding == Encoding::UTF_8 || value.encoding == Encoding::US_ASCII ? value.valid_encoding? : value.dup.force_encoding(Encoding::UTF_8).valid_encoding?
    end
  end
end
