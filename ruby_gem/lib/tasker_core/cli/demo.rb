# frozen_string_literal: true

require_relative "progress"

module TaskerCore
  class CLI
    # `tasker-core demo`: runs several orders through the order fulfillment
    # workflow with an embedded worker; one order's payment fails once and
    # succeeds on retry. Shows a progress line (redrawn in place on a
    # terminal, one line per change every 0.5 s at most otherwise; see
    # Progress), then each task's DAG.
    class Demo
      EXAMPLE = File.expand_path("../../../examples/order_fulfillment/handlers.rb", __dir__)

      def initialize(orders: 5, threads: 4, out: $stdout)
        @orders = orders
        @threads = threads
        @out = out
      end

      def run
        require EXAMPLE
        @out.puts "==> migrating"
        TaskerCore.migrate
        handler = TaskerCore.register_template(OrderFulfillment::TEMPLATE)
        handler.register!
        run_id = "#{Time.now.strftime('%Y%m%d%H%M%S')}-#{Process.pid}"
        task_ids = Array.new(@orders) { |i| create(handler, i + 1, run_id).task_id }
        @out.puts "==> created #{task_ids.size} tasks (#{task_ids.join(', ')}); order 2's payment fails once"
        worker = Worker.new(namespaces: [handler.namespace], threads: @threads, poll_interval: 0.05).start
        ok = wait(task_ids)
        worker.stop(deadline: 10)
        task_ids.each { |id| StatusPrinter.new(@out).print(id) }
        ok
      end

      private

      def create(handler, n, run_id)
        items = Array.new((n % 3) + 1) { |i| { "sku" => "SKU-#{n}-#{i}", "quantity" => i + 1, "price" => 9.99 + i } }
        context = { "order_id" => n, "customer_email" => "customer#{n}@example.com", "items" => items }
        context["fail_payment_once"] = true if n == 2
        handler.initialize_task(context: context, initiator: "tasker-core demo", reason: "demo run #{run_id}",
                                idempotency_key: "demo-#{run_id}-#{n}")
      end

      # Polls the tasks, showing progress (see Progress), until all finish.
      def wait(task_ids, timeout: 60)
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
        progress = Progress.new(@out)
        loop do
          statuses = task_ids.map { |id| Engine.task_status(id) }
          progress.update(self.class.progress_line(statuses))
          return statuses.all? { |s| s.status == "complete" } if statuses.all?(&:finished?)
          return false if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

          sleep 0.1
        end
      ensure
        progress&.finish
      end

      def self.progress_line(statuses)
        steps = statuses.flat_map(&:steps)
        format("==> tasks %<t>d/%<tt>d complete, steps %<d>d/%<s>d done, %<r>d waiting for retry",
               t: statuses.count { |s| s.status == "complete" }, tt: statuses.size,
               d: steps.count(&:complete?), s: steps.size, r: steps.count { |s| s.status == "waiting_for_retry" })
      end
    end
  end
end
