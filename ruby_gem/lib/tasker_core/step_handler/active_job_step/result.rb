# frozen_string_literal: true

require "bigdecimal"
require "date"

module TaskerCore
  module StepHandler
    class ActiveJobStep < Base
      # Turns what a job's #perform returned into a step result the engine
      # stores exactly. A job's return value is often incidental (the last
      # expression: a Mail::Message, a record), and the job has already done
      # its work, so a value without a JSON form must not fail the step (a
      # retry would run the job again): it becomes null instead.
      #   JSON values                 as they are
      #   Symbol                      its name
      #   Time, Date, DateTime        ISO 8601 (milliseconds for times)
      #   BigDecimal                  its decimal String ("1.5")
      #   Float NaN / Infinity        null
      #   a record (#to_global_id)    its GlobalID String ("gid://app/User/1")
      #   Hash / Array                converted member by member (keys as Strings)
      #   anything else               null
      module Result
        MAX_DEPTH = 1_000

        module_function

        def json_safe(value)
          JSONEncoder.valid?(value) ? value : convert(value, 0)
        end

        def convert(value, depth)
          return nil if depth > MAX_DEPTH # a structure that contains itself

          case value
          when nil, true, false, ::Integer then value
          when ::String then JSONEncoder.utf8?(value) ? value : value.dup.force_encoding(Encoding::UTF_8).scrub
          when ::Float then value.finite? ? value : nil
          when ::Symbol then value.name
          when ::Hash then value.each_with_object({}) { |(k, v), out| out[key(k)] = convert(v, depth + 1) }
          when ::Array then value.map { |v| convert(v, depth + 1) }
          else object(value)
          end
        end

        def key(key)
          text = key.is_a?(::Symbol) ? key.name : key.to_s
          JSONEncoder.utf8?(text) ? text : text.dup.force_encoding(Encoding::UTF_8).scrub
        end

        def object(value)
          if value.is_a?(::Time) || value.is_a?(::DateTime) then value.iso8601(3)
          elsif value.is_a?(::Date) then value.iso8601
          elsif value.is_a?(::BigDecimal) then value.finite? ? value.to_s("F") : nil
          elsif value.respond_to?(:to_global_id) then value.to_global_id.to_s
          end
        rescue StandardError # a record without an id has no GlobalID
          nil
        end
      end
    end
  end
end
