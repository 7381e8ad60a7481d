# frozen_string_literal: true

# A strict parser of Prometheus' text exposition format 0.0.4, for specs:
# it raises on anything a Prometheus server would reject or misread (a
# sample before its TYPE, a family split in two, a malformed label or
# value, a repeated series, a histogram whose buckets are not cumulative or
# whose +Inf bucket differs from its _count, a counter not named _total).
class PrometheusText
  NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/
  LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/
  SAMPLE = /\A(#{NAME})(?:\{(.*)\})? (\S+)(?: -?\d+)?\z/
  Sample = Struct.new(:name, :labels, :value)

  def self.parse(text) = new(text)

  def initialize(text)
    @types = {}
    @samples = []
    raise "exposition must end with a newline" unless text.end_with?("\n")

    closed = {}
    current = nil
    text.each_line(chomp: true).with_index(1) do |line, n|
      next if line.empty?

      if line.start_with?("#")
        current = comment(line, n, closed, current)
      else
        sample = sample(line, n)
        family = family_of(sample.name)
        raise "line #{n}: sample #{sample.name} before its # TYPE" unless @types.key?(family)
        raise "line #{n}: family #{family} is split (its samples must be contiguous)" if closed[family]

        closed[current] = true if current && current != family
        current = family
        @samples << sample
      end
    end
    check_unique!
    check_histograms!
  end

  def type(name) = @types.fetch(name) { raise "no family #{name}" }

  def samples(name) = @samples.select { |s| s.name == name }

  # The one sample of +name+ whose labels include +labels+.
  def value(name, **labels)
    want = labels.transform_keys(&:to_s).transform_values(&:to_s)
    found = samples(name).select { |s| want <= s.labels }
    raise "#{name}#{want}: #{found.size} samples match (of #{samples(name).map(&:labels)})" unless found.size == 1

    found.first.value
  end

  private

  def comment(line, n, closed, current)
    case line
    when /\A# HELP (#{NAME}) (.*)\z/
      raise "line #{n}: HELP escapes only \\\\ and \\n: #{line}" if Regexp.last_match(2).match?(/\\[^\\n]/)
    when /\A# TYPE (#{NAME}) (counter|gauge|histogram|summary|untyped)\z/
      name = Regexp.last_match(1)
      raise "line #{n}: second TYPE for #{name}" if @types.key?(name)
      raise "line #{n}: counter #{name} should end in _total" if Regexp.last_match(2) == "counter" && !name.end_with?("_total")

      closed[current] = true if current
      @types[name] = Regexp.last_match(2)
      return name
    else
      raise "line #{n}: not a HELP or TYPE line: #{line}" if line.match?(/\A# (HELP|TYPE)/)
    end
    current
  end

  def sample(line, n)
    m = SAMPLE.match(line) or raise "line #{n}: malformed sample: #{line.inspect}"
    labels = {}
    rest = m[2].to_s
    until rest.empty?
      l = /\A#{LABEL}(,|\z)/.match(rest) or raise "line #{n}: malformed labels: #{m[2].inspect}"
      raise "line #{n}: label #{l[1]} twice" if labels.key?(l[1])

      labels[l[1]] = l[2].gsub(/\\(.)/) { Regexp.last_match(1) == "n" ? "\n" : Regexp.last_match(1) }
      rest = l.post_match
    end
    Sample.new(m[1], labels, number(m[3], n))
  end

  def number(text, n)
    case text
    when "+Inf" then Float::INFINITY
    when "-Inf" then -Float::INFINITY
    when "NaN" then Float::NAN
    when /\A-?\d+\z/ then Integer(text)
    else Float(text)
    end
  rescue ArgumentError
    raise "line #{n}: value #{text.inspect} is not a number"
  end

  def family_of(name)
    return name if @types.key?(name)

    base = name.sub(/_(bucket|sum|count)\z/, "")
    @types[base] == "histogram" ? base : name
  end

  def check_unique!
    seen = {}
    @samples.each do |s|
      key = [s.name, s.labels.sort]
      raise "series #{s.name}#{s.labels} appears twice" if seen[key]

      seen[key] = true
    end
  end

  def check_histograms!
    @types.select { |_, t| t == "histogram" }.each_key do |name|
      samples("#{name}_bucket").group_by { |s| s.labels.except("le") }.each do |labels, buckets|
        les = buckets.map { |b| b.labels.fetch("le") { raise "#{name}_bucket#{labels} without le" } }
        raise "#{name}#{labels}: last bucket must be +Inf, got #{les.last}" unless les.last == "+Inf"

        bounds = les[0...-1].map { |l| Float(l) }
        raise "#{name}#{labels}: bucket bounds not increasing: #{les}" unless bounds.each_cons(2).all? { |a, b| a < b }

        counts = buckets.map(&:value)
        raise "#{name}#{labels}: buckets not cumulative: #{counts}" unless counts.each_cons(2).all? { |a, b| a <= b }

        count = value("#{name}_count", **labels.transform_keys(&:to_sym))
        raise "#{name}#{labels}: +Inf bucket #{counts.last} != _count #{count}" unless counts.last == count

        value("#{name}_sum", **labels.transform_keys(&:to_sym))
      end
    end
  end
end
