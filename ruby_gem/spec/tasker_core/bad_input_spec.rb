# frozen_string_literal: true

# Bad input through the Ruby API raises the named TaskerCore error and
# writes nothing.
RSpec.describe "bad input" do
  def count(table)
    SpecDatabase.query("SELECT count(*) FROM #{table}").to_i
  end

  def expect_nothing_written
    before = %w[tasker_tasks tasker_workflow_steps tasker_named_tasks].to_h { |t| [t, count(t)] }
    yield
    expect(before.keys.to_h { |t| [t, count(t)] }).to eq(before)
  end

  let(:handler) { Workflows.handler(:linear) }

  describe "initialize_task" do
    it "names a missing key with the operation" do
      expect_nothing_written do
        expect { TaskerCore::Engine.initialize_task(name: "x", context: {}) }
          .to raise_error(TaskerCore::ValidationError, "initialize_task: :namespace is missing in Hash input")
      end
    end

    it "rejects wrong types, unknown keys and unknown identity strategies" do
      base = { namespace: "spec", name: "linear_wf", context: {} }
      expect { TaskerCore::Engine.initialize_task(base.merge(context: [])) }
        .to raise_error(TaskerCore::ValidationError, /initialize_task: .*:context/)
      expect { TaskerCore::Engine.initialize_task(base.merge(colour: "red")) }
        .to raise_error(TaskerCore::ValidationError, "initialize_task: unexpected keys [:colour] in Hash input")
      expect { TaskerCore::Engine.initialize_task(base.merge(identity_strategy: "sometimes")) }
        .to raise_error(TaskerCore::ValidationError, /identity_strategy.*included_in\?/)
      expect { TaskerCore::Engine.initialize_task(base.merge(tags: [1])) }.to raise_error(TaskerCore::ValidationError, /:tags/)
      expect { TaskerCore::Engine.initialize_task("nope") }
        .to raise_error(TaskerCore::ValidationError, "initialize_task: expected a Hash, got String")
    end

    it "accepts string keys" do
      handler
      init = TaskerCore::Engine.initialize_task("namespace" => "spec", "name" => "linear_wf", "context" => { "a" => 1 })
      expect(init.step_count).to eq(6)
    end

    it "raises NotFoundError for an unknown template" do
      expect_nothing_written do
        expect { TaskerCore::Engine.initialize_task(namespace: "spec", name: "no_such_template", context: {}) }
          .to raise_error(TaskerCore::NotFoundError) { |e| expect(e.code).to eq("not_found") }
      end
    end

    it "rejects a context naming a key twice, naming the object" do
      expect_nothing_written do
        expect { handler.initialize_task(context: { "a" => 1, a: 2 }) }
          .to raise_error(TaskerCore::ValidationError, /context: has the key "a" more than once/)
        expect { handler.initialize_task(context: { "user" => { "id" => 1, id: 2 } }) }
          .to raise_error(TaskerCore::ValidationError, /context\.user: has the key "id" more than once/)
      end
    end

    it "keeps a context exactly as sent" do
      context = { "z" => 1.0e300, "max" => Float::MAX, "big" => 1.0e22, "neg" => -0.0, "b" => 1, "a" => 2 }
      task_id = handler.initialize_task(context: context).task_id
      back = TaskerCore::Engine.task_status(task_id).context
      expect(back.keys).to eq(context.keys)
      expect(back.values).to all(be_a(Float).or(be_a(Integer)))
      expect(back).to eq(context)
      expect(back["z"]).to be_a(Float)
      expect(back["neg"].to_s).to eq("-0.0")
    end

    it "rejects a context that has no exact JSON form" do
      expect_nothing_written do
        expect { handler.initialize_task(context: { "x" => Float::NAN }) }
          .to raise_error(TaskerCore::ValidationError, /not a finite number/)
        expect { handler.initialize_task(context: { "x" => Object.new }) }
          .to raise_error(TaskerCore::ValidationError, /cannot be encoded as JSON/)
      end
    end
  end

  describe "a NUL character (\\u0000)" do
    it "in a task context (jsonb) is the engine's ValidationError naming the field, and nothing is written" do
      expect_nothing_written do
        expect { handler.initialize_task(context: { "ok" => "fine", "note" => "a\u0000b" }) }
          .to raise_error(TaskerCore::ValidationError,
                          /initialize_task: context\.note: string must not contain the escape \\u0000, which PostgreSQL's jsonb cannot store/) { |e|
            expect(e.details["field"]).to eq("context.note")
          }
      end
    end

    it "in a template's handler_config (jsonb) is a ValidationError, and nothing is registered" do
      yaml = Workflows.yaml("nul_config", { "a" => [] }).sub("shape: nul_config") { 'shape: "x\0y"' } # YAML's \0 is NUL
      expect_nothing_written do
        expect { TaskerCore::TaskHandler::Base.new(yaml: yaml) }.to raise_error(TaskerCore::ValidationError, /handler_config.*\\u0000/)
      end
    end
  end

  describe "templates" do
    def template(yaml)
      TaskerCore::TaskHandler::Base.new(yaml: yaml, register: false)
    end

    it "reports bad YAML with the problem" do
      expect { template("name: [unclosed") }.to raise_error(TaskerCore::ValidationError, /invalid YAML/)
      expect { template("- a list") }.to raise_error(TaskerCore::ValidationError, /expected a mapping/)
    end

    it "reports a missing key and an unknown step key" do
      yaml = Workflows.yaml("t", { "a" => [] })
      expect { template(yaml.sub(/^namespace_name.*$/, "")) }
        .to raise_error(TaskerCore::ValidationError, /:namespace_name is missing in Hash input/)
      expect { template(yaml.sub("handler_class:", "handler_klass:")) }.to raise_error(TaskerCore::ValidationError, /handler/)
    end

    it "names an unknown handler class and its step when it is first needed, and at worker boot" do
      yaml = Workflows.yaml("unknown_handler", { "a" => [] }, handler: "Nope::Missing")
      handler = TaskerCore::TaskHandler::Base.new(yaml: yaml, register: false)
      error = /step_templates\[0\] \(a\): handler_class Nope::Missing is not defined/
      expect { handler.validate_handlers! }.to raise_error(TaskerCore::ValidationError, error)
      expect { handler.get_step_handler_from_name("a") }.to raise_error(TaskerCore::ValidationError, error)
      TaskerCore::OrchestrationManager.instance.register(handler)
      begin
        expect_nothing_written do
          expect { TaskerCore::Worker.new(namespaces: ["spec"], threads: 1).start }.to raise_error(TaskerCore::ValidationError, error)
        end
      ensure
        TaskerCore::OrchestrationManager.instance.unregister(handler)
      end
      expect { template(Workflows.yaml("evil", { "a" => [] }, handler: "system('true')")) }
        .to raise_error(TaskerCore::ValidationError, /is not a class name/)
    end

    it "raises the engine's ValidationError for a cycle or an unknown dependency, writing nothing" do
      expect_nothing_written do
        expect { TaskerCore::TaskHandler::Base.new(yaml: Workflows.yaml("cyclic", { "a" => ["b"], "b" => ["a"] })) }
          .to raise_error(TaskerCore::ValidationError, /cycle/)
        expect { TaskerCore::TaskHandler::Base.new(yaml: Workflows.yaml("dangling", { "a" => ["ghost"] })) }
          .to raise_error(TaskerCore::ValidationError, /unknown step "ghost"/)
      end
      expect(TaskerCore::OrchestrationManager.instance.list).not_to include(a_string_including("cyclic"))
    end
  end

  describe "values no Ruby call should crash on" do
    let(:basic) { BasicObject.new }

    it "names an id or priority out of the database's range" do
      expect_nothing_written do
        expect { TaskerCore::Engine.task_status(2**64) }
          .to raise_error(TaskerCore::ValidationError, /task_status: task_id must be an Integer within 1\.\.9223372036854775807, got 18446744073709551616/)
        expect { TaskerCore::Engine.cancel_task(task_id: 2**63) }.to raise_error(TaskerCore::ValidationError, /cancel_task: .*:task_id/)
        expect { handler.initialize_task(context: {}, priority: 2**31) }
          .to raise_error(TaskerCore::ValidationError, /initialize_task: .*:priority/)
      end
      expect(handler.initialize_task(context: {}, priority: -(2**31)).task_id).to be_positive
    end

    it "names a BasicObject wherever it is passed" do
      expect_nothing_written do
        expect { TaskerCore::Engine.initialize_task(basic) }
          .to raise_error(TaskerCore::ValidationError, "initialize_task: expected a Hash, got an instance of BasicObject")
        expect { TaskerCore::Engine.initialize_task(namespace: basic, name: "x", context: {}) }
          .to raise_error(TaskerCore::ValidationError, /:namespace is an instance of BasicObject/)
        expect { handler.initialize_task(context: { "x" => [basic] }) }
          .to raise_error(TaskerCore::ValidationError, /\["x"\]\[0\]: an instance of BasicObject cannot be encoded as JSON/)
        expect { TaskerCore::Engine.task_status(basic) }
          .to raise_error(TaskerCore::ValidationError, /got an instance of BasicObject/)
      end
    end

    it "refuses a template source that is not one text or one file" do
      expect { TaskerCore::TaskHandler::Base.new(yaml: nil) }
        .to raise_error(TaskerCore::ValidationError, /give exactly one of config_path: .* and yaml:/)
      expect { TaskerCore::TaskHandler::Base.new(yaml: 5) }.to raise_error(TaskerCore::ValidationError, /yaml: must be a String, got 5/)
      expect { TaskerCore::TaskHandler::Base.new(config_path: __dir__) }
        .to raise_error(TaskerCore::ValidationError, /cannot read: Is a directory/)
    end

    it "refuses template keys of the original that this engine does not implement" do
      step = { "name" => "a", "handler_class" => "SpecHandlers::Shape" }
      doc = { "name" => "unsupported", "namespace_name" => "spec", "version" => "1.0.0" }
      {
        { "skippable" => true } => /step_templates\[0\] \(a\): skippable: true is not supported/,
        { "custom_events" => [{ "name" => "x" }] } => /custom_events are not supported .*step\.failed/,
        { "dependent_system" => "billing" } => /dependent_system is not supported; .*handler_config/
      }.each do |extra, message|
        yaml = doc.merge("step_templates" => [step.merge(extra)]).to_yaml
        expect { TaskerCore::TaskHandler::Base.new(yaml: yaml, register: false) }.to raise_error(TaskerCore::ValidationError, message)
      end
      expect { TaskerCore::TaskHandler::Base.new(yaml: doc.merge("default_dependent_system" => "x", "step_templates" => [step]).to_yaml, register: false) }
        .to raise_error(TaskerCore::ValidationError, /default_dependent_system is not supported/)
      ok = doc.merge("step_templates" => [step.merge("skippable" => false, "custom_events" => [])]).to_yaml
      expect(TaskerCore::TaskHandler::Base.new(yaml: ok, register: false).name).to eq("unsupported")
    end

    it "checks step names against named_steps and resolves handlers within module_namespace" do
      doc = { "name" => "named", "namespace_name" => "spec", "version" => "1.0.0", "named_steps" => %w[a b],
              "step_templates" => [{ "name" => "a", "handler_class" => "SpecHandlers::Shape" },
                                   { "name" => "c", "handler_class" => "SpecHandlers::Shape", "depends_on_steps" => ["a"] }] }
      expect { TaskerCore::TaskHandler::Base.new(yaml: doc.to_yaml, register: false) }
        .to raise_error(TaskerCore::ValidationError, /step_templates\[1\] \(c\) uses "c", not in named_steps \["a", "b"\]/)

      doc = { "name" => "scoped", "namespace_name" => "spec", "version" => "1.0.0", "module_namespace" => "SpecHandlers",
              "step_templates" => [{ "name" => "a", "handler_class" => "Shape" }, { "name" => "b", "handler_class" => "::String" }] }
      handler = TaskerCore::TaskHandler::Base.new(yaml: doc.to_yaml, register: false)
      expect(handler.get_step_handler_from_name("a")).to be_a(SpecHandlers::Shape)
      expect { handler.get_step_handler_from_name("b") }.to raise_error(TaskerCore::ValidationError, /::String is not a class with #process/)
    end

    it "refuses a YAML alias bomb at once" do
      levels = ["a: &a [#{(['"x"'] * 9).join(',')}]"] +
               (1..9).map { |i| "#{(97 + i).chr}: &#{(97 + i).chr} [#{(["*#{(96 + i).chr}"] * 9).join(',')}]" }
      bomb = "name: x\nnamespace_name: y\nversion: 1.0.0\nstep_templates:\n  - name: s\n    handler_class: H\n" \
             "    handler_config:\n#{levels.map { |l| "      #{l}\n" }.join}"
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect { TaskerCore::TaskHandler::Base.new(yaml: bomb, register: false) }
        .to raise_error(TaskerCore::ValidationError, /expands to more than 100000 values/)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 5
    end
  end

  describe "steps" do
    it "fails a step whose results cannot be encoded, recording why and storing no results" do
      h = Workflows.handler("bad_result", { "only" => [] }, handler: "SpecHandlers::BadResult", retry_limit: 1)
      %w[nan infinity object time symbol].each do |kind|
        init = h.initialize_task(context: { "kind" => kind })
        result = handle_one_step(init.step_id("only"))
        expect(result.status).to eq("error")
        expect(result.error["class"]).to eq("TaskerCore::JSONEncoder::EncodingError")
        expect(result.error["message"]).to match(/results of step "only"/)
        expect(TaskerCore::Engine.task_status(init.task_id).step("only").results).to be_nil
      end
    end

    it "raises NotFoundError for an unknown step and ValidationError for a bad id" do
      expect { handle_one_step(999_999_999) }.to raise_error(TaskerCore::NotFoundError)
      expect { handle_one_step(-1) }.to raise_error(TaskerCore::ValidationError, /claim_one: .*:step_id/)
      expect { TaskerCore::Engine.task_status("1") }.to raise_error(TaskerCore::ValidationError, /an Integer within 1\.\./)
    end

    it "rejects a stale claim token" do
      init = handler.initialize_task(context: {})
      claimed = TaskerCore::Engine.claim_one(step_id: init.step_id("initialize_data"), worker_id: "spec")
      TaskerCore::Engine.complete(step_id: claimed.workflow_step_id, claim_token: claimed.claim_token, results: {})
      expect { TaskerCore::Engine.complete(step_id: claimed.workflow_step_id, claim_token: claimed.claim_token, results: {}) }
        .to raise_error(TaskerCore::StaleClaimError)
    end
  end
end
