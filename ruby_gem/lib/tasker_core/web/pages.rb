# frozen_string_literal: true

module TaskerCore
  class Web
    # The read-only pages, over TaskerCore::Operations.
    class Controller
      IndexPage = Struct.new(:tasks, :next_before, :counts, :filters, :limit, keyword_init: true)
      TaskPage = Struct.new(:task, :svg, :history, :step_history, keyword_init: true)
      StuckPage = Struct.new(:stuck, :failed, :next_before, :limit, keyword_init: true)
      STUCK_PAGE = 100
      STYLESHEET = File.read(File.expand_path("assets/app.css", __dir__)).freeze

      # GET / : tasks newest first, by state and template, keyset pages;
      # q=<task id> jumps to a task.
      def index
        if (search = Params.text(query["q"], "q", max: 40))
          return redirect(view.path("tasks", Params.id(search, "q (search by task id)")))
        end

        filters = { state: Params.state(query["state"]), namespace: Params.text(query["namespace"], "namespace", max: 128),
                    name: Params.text(query["name"], "name", max: 128), version: Params.text(query["version"], "version", max: 64),
                    before: Params.optional_id(query["before"], "before") }
        limit = Params.limit(query["limit"])
        list = Operations.list(states: Array(filters[:state]), namespace: filters[:namespace], name: filters[:name],
                               version: filters[:version], before: filters[:before], limit: limit)
        page = IndexPage.new(tasks: list["tasks"], next_before: list["next_before_task_id"], filters: filters,
                             counts: Operations.stats(minutes: 1)["tasks"], limit: limit)
        html(200, "Tasks", view.render_index(page))
      end

      # GET /tasks/:id : the DAG, every step's results, error and
      # transitions, and the actions the task's state allows.
      def task(raw_id)
        id = Params.id(raw_id, "task id")
        task = Operations.show(id)
        history = Operations.history(id)
        page = TaskPage.new(task: task, svg: DagSvg.new(task["steps"]).to_html, history: history,
                            step_history: history["steps"].group_by { |t| t["workflow_step_id"] })
        html(200, "Task #{id}", view.render_task(page))
      end

      # GET /stuck : what is not progressing, and tasks in error to retry in bulk.
      def stuck
        limit = Params.limit(query["limit"]) || STUCK_PAGE
        list = Operations.list(states: ["error"], before: Params.optional_id(query["before"], "before"), limit: limit)
        page = StuckPage.new(stuck: Operations.stuck["work"], failed: list["tasks"], next_before: list["next_before_task_id"],
                             limit: limit)
        html(200, "Stuck and failed work", view.render_stuck(page))
      end

      # GET /metrics : the engine's gauges from the database, plus what this
      # process counted (steps it ran, the library's pool).
      def metrics
        exposition = Metrics::Exposition.new
        Metrics::DatabaseGauges.write(exposition)
        Metrics.write(exposition)
        Metrics::LibraryGauges.write(exposition)
        [200, { "Content-Type" => Metrics::Exposition::CONTENT_TYPE, "Cache-Control" => "no-store" }, [exposition.to_s]]
      end

      # GET /health : 200 when the database answers, else 503 (JSON).
      def health
        report = Health.check
        [report.http_status, { "Content-Type" => "application/json", "Cache-Control" => "no-store" },
         ["#{JSON.generate(report.to_h)}\n"]]
      end

      def stylesheet
        [200, { "Content-Type" => "text/css; charset=utf-8", "Cache-Control" => "public, max-age=3600",
                "X-Content-Type-Options" => "nosniff" }, [STYLESHEET]]
      end
    end
  end
end
