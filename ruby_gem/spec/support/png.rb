# frozen_string_literal: true

require "zlib"

# Decodes the PNGs headless Chromium writes (8-bit RGB or RGBA, not
# interlaced) into pixels, so a spec can check what a screenshot shows.
class Png
  SIGNATURE = "\x89PNG\r\n\x1A\n".b

  attr_reader :width, :height

  def self.read(path) = new(File.binread(path))

  def initialize(bytes)
    raise "not a PNG (#{bytes.bytesize} bytes)" unless bytes.start_with?(SIGNATURE)

    idat = +"".b
    pos = SIGNATURE.bytesize
    while pos < bytes.bytesize
      length, type = bytes.unpack("@#{pos}Na4")
      data = bytes.byteslice(pos + 8, length)
      case type
      when "IHDR"
        @width, @height, depth, @colour, _c, _f, interlace = data.unpack("NNCCCCC")
        raise "unsupported PNG: depth #{depth}, colour type #{@colour}, interlace #{interlace}" unless depth == 8 && [2, 6].include?(@colour) && interlace.zero?
      when "IDAT" then idat << data
      when "IEND" then break
      end
      pos += 12 + length
    end
    @channels = @colour == 6 ? 4 : 3
    @rows = unfilter(Zlib::Inflate.inflate(idat))
  end

  # How many pixels have exactly this RGB colour.
  def count(rgb)
    want = rgb.pack("C3")
    @rows.sum { |row| (0...@width).count { |x| row.byteslice(x * @channels, 3) == want } }
  end

  # The number of distinct RGB colours (a blank page has one or two).
  def colours
    @rows.each_with_object({}) do |row, seen|
      (0...@width).step(2) { |x| seen[row.byteslice(x * @channels, 3)] = true }
    end.size
  end

  private

  def unfilter(raw)
    stride = @width * @channels
    previous = "\0".b * stride
    Array.new(@height) do |y|
      filter = raw.getbyte(y * (stride + 1))
      line = raw.byteslice((y * (stride + 1)) + 1, stride).bytes
      prev = previous.bytes
      line.each_index do |i|
        a = i >= @channels ? line[i - @channels] : 0
        b = prev[i]
        c = i >= @channels ? prev[i - @channels] : 0
        line[i] = (line[i] + predict(filter, a, b, c)) & 0xFF
      end
      previous = line.pack("C*")
    end
  end

  def predict(filter, a, b, c)
    case filter
    when 0 then 0
    when 1 then a
    when 2 then b
    when 3 then (a + b) / 2
    when 4
      p = a + b - c
      pa = (p - a).abs
      pb = (p - b).abs
      pc = (p - c).abs
      if pa <= pb && pa <= pc then a
      elsif pb <= pc then b
      else c
      end
    else raise "bad PNG filter #{filter}"
    end
  end
end
