# frozen_string_literal: true

RSpec.describe TaskerCore::JSONEncoder do
  it "encodes a NUL character as the escape \\u0000 (results are stored as json, byte for byte)" do
    json = described_class.encode!({ "a\u0000" => "b\u0000c" })
    expect(json).to eq('{"a\u0000":"b\u0000c"}'.gsub("\u0000", "\\u0000"))
    expect(JSON.parse(json)).to eq("a\u0000" => "b\u0000c")
  end

  it "still rejects invalid UTF-8, NaN, Infinity and values with no JSON form, naming the path" do
    {
      { "s" => "\xFF".dup.force_encoding(Encoding::UTF_8) } => /x\["s"\]: string is not valid UTF-8/,
      { "k" => [Float::NAN] } => /x\["k"\]\[0\]: NaN is not a finite number/,
      [-Float::INFINITY] => /x\[0\]: -Infinity is not a finite number/,
      { "t" => Time.now } => /x\["t"\]: .* \(Time\) cannot be encoded as JSON/,
      { 1 => "v" } => /hash key 1 \(Integer\) is not a String or Symbol/
    }.each do |value, message|
      expect { described_class.encode!(value, what: "x") }.to raise_error(described_class::EncodingError, message)
    end
  end

  it "valid? accepts exactly what check! accepts (StepRunner walks with paths only when valid? says no)" do
    deep = (1..(described_class::MAX_DEPTH + 1)).reduce(1) { |v, _| [v] }
    good = [{}, { "a" => [1, 2.5, nil, true, false, "x"], b: { "c" => "\u00e9" } }, "\xC3\xA9".b, (1..50).reduce(1) { |v, _| [v] }]
    bad = [{ "s" => "\xFF".dup.force_encoding(Encoding::UTF_8) }, { "k" => [Float::NAN] }, [-Float::INFINITY],
           { "t" => Time.now }, { 1 => "v" }, :sym, { "\xFF".b => 1 }, deep]
    good.each do |value|
      expect(described_class.valid?(value)).to be(true)
      expect { described_class.check!(value, "x") }.not_to raise_error
    end
    bad.each do |value|
      expect(described_class.valid?(value)).to be(false)
      expect { described_class.check!(value, "x") }.to raise_error(described_class::EncodingError)
    end
  end
end
