# frozen_string_literal: true

module TaskerCore
  module Metrics
    # Builds Prometheus' text exposition format (version 0.0.4): one
    # "# HELP" and "# TYPE" line per family, then its samples. Label values
    # and help texts are escaped as the format says, so a namespace or a
    # worker id holding quotes, backslashes or newlines cannot break a line.
    class Exposition
      CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
      TYPES = %w[counter gauge histogram].freeze
      NAME = /\A[a-zA-Z_:][a-zA-Z0-9_:]*\z/

      def initialize
        @out = +""
        @families = {}
      end

      # Declares a family once (later calls with the same name add nothing).
      def family(name, type, help)
        raise ArgumentError, "metric name #{name.inspect} is not valid" unless NAME.match?(name)
        raise ArgumentError, "metric type must be one of #{TYPES.join(', ')}, got #{type.inspect}" unless TYPES.include?(type)
        return self if @families.key?(name)

        @families[name] = type
        @out << "# HELP #{name} #{help.gsub('\\', '\\\\\\\\').gsub("\n", '\\n')}\n# TYPE #{name} #{type}\n"
        self
      end

      # One sample of a declared counter or gauge.
      def sample(name, value, labels = {})
        raise ArgumentError, "metric #{name} was not declared" unless @families.key?(name)

        line(name, labels, value)
      end

      # A declared histogram's samples: cumulative counts per bound (seconds),
      # then +Inf, _sum and _count.
      def histogram(name, bounds:, counts:, count:, sum:, labels: {})
        raise ArgumentError, "histogram #{name} was not declared" unless @families[name] == "histogram"
        raise ArgumentError, "#{name}: #{bounds.size} bounds but #{counts.size} counts" unless bounds.size == counts.size

        bounds.zip(counts) { |le, n| line("#{name}_bucket", labels.merge(le: number(le)), n) }
        line("#{name}_bucket", labels.merge(le: "+Inf"), count)
        line("#{name}_sum", labels, sum)
        line("#{name}_count", labels, count)
      end

      def to_s = @out.dup

      private

      def line(name, labels, value)
        @out << name
        unless labels.empty?
          @out << "{" << labels.map { |k, v| "#{k}=\"#{escape(v.to_s)}\"" }.join(",") << "}"
        end
        @out << " " << number(value) << "\n"
        self
      end

      def escape(value) = value.gsub('\\', '\\\\\\\\').gsub('"', '\\"').gsub("\n", '\\n')

      def number(value)
        case value
        when true then "1"
        when false, nil then "0"
        when Integer then value.to_s
        when Float
          if value.nan? then "NaN"
          elsif value.infinite? then value.positive? ? "+Inf" : "-Inf"
          else value.to_s
          end
        when String then value
        else raise ArgumentError, "a metric value must be a number, got #{value.inspect}"
        end
      end
    end
  end
end
