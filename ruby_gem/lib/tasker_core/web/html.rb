# frozen_string_literal: true

require "erb"

module TaskerCore
  class Web
    # Markup that is already safe: what helpers and the SVG builder return.
    # Everything else a template outputs with <%= %> is escaped, so a step
    # name, a result or an error message can never become markup.
    class Html < String
      # ERB calls #to_s on what <%= %> outputs; a String subclass would
      # otherwise come back as a plain (escaped) String.
      def to_s = self
    end

    # Escapes text for HTML and XML (SVG) text and double-quoted attributes.
    def self.escape(value) = ERB::Util.html_escape(value.to_s)

    # The output buffer of compiled templates: literal template text is
    # appended as is, every <%= %> value escaped unless it is Html.
    class Buffer
      def initialize
        @out = +""
      end

      def raw(text) = @out << text

      def escaped(value)
        @out << (value.is_a?(Html) ? value : Web.escape(value))
      end

      def to_html = Html.new(@out)
    end

    # ERB compiled against Buffer: <%= %> escapes by default.
    class Template < ERB
      def set_eoutvar(compiler, eoutvar = "_erbout")
        compiler.put_cmd = "#{eoutvar}.raw"
        compiler.insert_cmd = "#{eoutvar}.escaped"
        compiler.pre_cmd = ["#{eoutvar} = ::TaskerCore::Web::Buffer.new"]
        compiler.post_cmd = ["#{eoutvar}.to_html"]
      end
    end
  end
end
