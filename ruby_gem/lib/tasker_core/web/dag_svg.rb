# frozen_string_literal: true

module TaskerCore
  class Web
    # A task's DAG as inline SVG, drawn on the server: one column per
    # dependency level (calculate_dependency_levels), a node per step
    # coloured by its state with its name, attempts and duration, and a
    # curve from each parent to each child. Colours are SVG presentation
    # attributes, not CSS, so the page's Content-Security-Policy can forbid
    # inline styles. Every name is escaped.
    class DagSvg
      NODE_W = 210
      NODE_H = 54
      GAP_X = 64
      GAP_Y = 16
      PAD = 12
      NAME_CHARS = 28
      # [fill, stroke] per step state.
      COLOURS = {
        "pending" => ["#e5e7eb", "#6b7280"], "in_progress" => ["#bfdbfe", "#2563eb"],
        "waiting_for_retry" => ["#fde68a", "#d97706"], "complete" => ["#bbf7d0", "#16a34a"],
        "error" => ["#fecaca", "#dc2626"], "cancelled" => ["#f3f4f6", "#374151"],
        "resolved_manually" => ["#ddd6fe", "#7c3aed"]
      }.freeze
      DONE = %w[complete resolved_manually].freeze

      # steps: Operations.show's "steps" (name, status, depends_on,
      # attempts, retry_limit, duration_ms, dependency_level, workflow_step_id).
      def initialize(steps)
        @steps = steps
        @by_name = steps.to_h { |s| [s["name"], s] }
        @at = layout
      end

      def width = (columns.size * (NODE_W + GAP_X)) - GAP_X + (2 * PAD)

      def height = (columns.map(&:size).max.to_i * (NODE_H + GAP_Y)) - GAP_Y + (2 * PAD)

      def to_html
        svg = +%(<svg xmlns="http://www.w3.org/2000/svg" class="dag" role="img" width="#{width}" height="#{height}" ) <<
              %(viewBox="0 0 #{width} #{height}" font-family="sans-serif"><title>task DAG: #{@steps.size} steps</title>) <<
              %(<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" ) <<
              %(orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs>)
        @steps.each { |s| edges(svg, s) }
        @steps.each { |s| node(svg, s) }
        Html.new(svg << "</svg>")
      end

      private

      # Steps by level, each level ordered by the mean row of its parents
      # (fewer crossings than template order), template order breaking ties.
      def columns
        @columns ||= begin
          levels = @steps.group_by { |s| s["dependency_level"].to_i }
          rows = {}
          levels.keys.sort.map do |level|
            column = levels[level].each_with_index.sort_by do |s, i|
              parents = Array(s["depends_on"]).filter_map { |p| rows[p] }
              [parents.empty? ? i : parents.sum.fdiv(parents.size), i]
            end.map(&:first)
            column.each_with_index { |s, row| rows[s["name"]] = row }
            column
          end
        end
      end

      # {name => [x, y]}, each column centred vertically.
      def layout
        tallest = columns.map(&:size).max.to_i
        columns.each_with_index.with_object({}) do |(column, c), at|
          offset = (tallest - column.size) * (NODE_H + GAP_Y) / 2.0
          column.each_with_index do |s, r|
            at[s["name"]] = [PAD + (c * (NODE_W + GAP_X)), PAD + offset + (r * (NODE_H + GAP_Y))]
          end
        end
      end

      def edges(svg, step)
        x2, y2 = @at.fetch(step["name"])
        Array(step["depends_on"]).each do |parent|
          from = @at[parent] or next
          x1 = from[0] + NODE_W
          y1 = from[1] + (NODE_H / 2.0)
          yc = y2 + (NODE_H / 2.0)
          mid = (x1 + x2) / 2.0
          done = DONE.include?(@by_name[parent]["status"])
          svg << %(<path class="edge" d="M#{x1},#{y1} C#{mid},#{y1} #{mid},#{yc} #{x2 - 2},#{yc}" fill="none" ) <<
                 %(stroke="#{done ? '#16a34a' : '#9ca3af'}" stroke-width="1.6" marker-end="url(#arrow)">) <<
                 %(<title>#{esc(parent)} → #{esc(step['name'])}</title></path>)
        end
      end

      def node(svg, step)
        x, y = @at.fetch(step["name"])
        fill, stroke = COLOURS.fetch(step["status"], COLOURS["pending"])
        svg << %(<a href="#step-#{step['workflow_step_id'].to_i}" class="node" data-step="#{esc(step['name'])}" ) <<
               %(data-state="#{esc(step['status'])}"><title>#{esc(tooltip(step))}</title>) <<
               %(<rect x="#{x}" y="#{y}" width="#{NODE_W}" height="#{NODE_H}" rx="7" fill="#{fill}" stroke="#{stroke}" ) <<
               %(stroke-width="1.5"#{step['status'] == 'cancelled' ? ' stroke-dasharray="4 3"' : ''}/>) <<
               %(<text x="#{x + 10}" y="#{y + 21}" font-size="13" font-weight="bold" fill="#111827">#{esc(short(step['name']))}</text>) <<
               %(<text x="#{x + 10}" y="#{y + 40}" font-size="11" fill="#374151">#{esc(detail(step))}</text></a>)
      end

      def short(name) = name.length > NAME_CHARS ? "#{name[0, NAME_CHARS - 1]}…" : name

      def detail(step)
        parts = [step["status"].to_s.tr("_", " "), "#{step['attempts'].to_i}/#{View.max_attempts(step)} attempts"]
        parts << View.duration(step["duration_ms"]) if step["duration_ms"]
        parts.join(" · ")
      end

      def tooltip(step) = "#{step['name']}: #{detail(step)}"

      def esc(text) = Web.escape(text)
    end
  end
end
