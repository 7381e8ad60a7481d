# frozen_string_literal: true

module TaskerCore
  class Web
    # The actions (POST only; Web has checked the authorization hook and
    # the CSRF token first). Each checks its parameters before changing
    # anything, then makes one engine call per task in its own
    # transaction: a refused id changes nothing (409, or 404 when unknown).
    class Controller
      OutcomesPage = Struct.new(:outcomes, :action, keyword_init: true)

      # POST /tasks/:id/retry (reason): a task in error back to pending.
      def retry_task(raw_id)
        id = Params.id(raw_id, "task id")
        one(Operations.retry_tasks([id], reason: reason))
        redirect(view.path("tasks", id, done: "retried"))
      end

      # POST /tasks/:id/cancel (reason): the task and its unfinished steps.
      def cancel_task(raw_id)
        id = Params.id(raw_id, "task id")
        one(Operations.cancel_tasks([id], reason: reason))
        redirect(view.path("tasks", id, done: "cancelled"))
      end

      # POST /steps/:id/resolve (reason, results: JSON): a pending, waiting
      # or failed step resolved manually.
      def resolve_step(raw_id)
        id = Params.id(raw_id, "step id")
        results = Params.json(form["results"], "results")
        result = Operations.resolve_step(id, reason: reason, results: results)
        redirect("#{view.path('tasks', result['task_id'], done: 'resolved')}#step-#{id}")
      end

      # POST /tasks/retry (task_ids[], reason): tasks in error back to
      # pending, each on its own; 200 when every one was, else 409 with
      # each refusal named.
      def retry_tasks
        ids = Params.ids(form["task_ids"], "task_ids")
        outcomes = Operations.retry_tasks(ids, reason: reason)
        page = OutcomesPage.new(outcomes: outcomes, action: "retry")
        html(outcomes.all?(&:ok?) ? 200 : 409, "Retried #{outcomes.count(&:ok?)} of #{outcomes.size}", view.render_outcomes(page))
      end

      private

      def reason = Params.text(form["reason"], "reason") || "from TaskerCore::Web"

      def one(outcomes)
        outcome = outcomes.first
        raise outcome.error unless outcome.ok?
      end
    end
  end
end
