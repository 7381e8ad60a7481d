# frozen_string_literal: true

module TaskerCore
  # Takes the engine's SQL functions out of a structure.sql written by
  # pg_dump. Rails passes ActiveRecord::SchemaDumper.ignore_tables to
  # pg_dump -T, which leaves out the engine's tables, sequences and the
  # triggers on them, but pg_dump has no switch to leave out a function: a
  # structure.sql that kept them would create them on db:structure:load, and
  # the engine's migrations, applied next, would fail on the first one.
  #
  # pg_dump opens every object with a comment block naming it,
  #   --
  #   -- Name: get_task_execution_context(bigint); Type: FUNCTION; Schema: public; Owner: -
  #   --
  # and the object runs to the next such block (or pg_dump's closing
  # "-- PostgreSQL database dump complete" block). Entries for the engine's
  # functions, and comments on them, are dropped; the rest is kept byte for
  # byte.
  module StructureFilter
    ENTRY = /\A-- Name: (?<name>.+?); Type: (?<type>[A-Z][A-Z ]*); Schema: /

    module_function

    # Rewrites the file at path; returns the names of the functions removed.
    def strip_file!(path, functions: EngineSchema::FUNCTIONS)
      text = File.read(path)
      kept, removed = strip(text, functions: functions)
      File.write(path, kept) unless removed.empty?
      removed
    end

    # Returns [text without the functions' entries, names removed].
    def strip(text, functions: EngineSchema::FUNCTIONS)
      removed = []
      kept = blocks(text).reject do |block|
        name = engine_function(block, functions)
        removed << name if name
        name
      end
      [kept.join, removed.uniq]
    end

    # The text cut before every "--" line that opens a comment block.
    def blocks(text)
      lines = text.lines
      starts = [0] + (1...lines.size).select { |i| lines[i] == "--\n" && lines[i + 1]&.start_with?("-- ") }
      starts.uniq.each_cons(2).map { |a, b| lines[a...b].join } + [lines[starts.last..].to_a.join]
    end

    def engine_function(block, functions)
      match = ENTRY.match(block.lines[1].to_s) or return nil
      name = case match[:type]
             when "FUNCTION" then match[:name]
             when "COMMENT" then match[:name][/\AFUNCTION (.+)\z/, 1]
             end
      function = name && name[/\A"?([^"(]+)"?\(/, 1]
      function if functions.include?(function)
    end
  end
end
