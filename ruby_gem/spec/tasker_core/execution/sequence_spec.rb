# frozen_string_literal: true

module SpecHandlers
  # Returns {"step" => name}; the last step of the chain also reads the
  # ancestors listed in context["read"] (twice, to show the cache).
  class ChainLink < TaskerCore::StepHandler::Base
    def process(task, sequence, step)
      read = Array(task.context.dig("read", step.name))
      2.times { read.each { |a| sequence.result_of(a) } }
      { "step" => step.name, "parents" => sequence.step_names, "read" => read.to_h { |a| [a, sequence.result_of(a)] } }
    end
  end
end

RSpec.describe TaskerCore::Execution::Sequence do
  let(:chain) { { "first" => [], "second" => ["first"], "third" => ["second"], "fourth" => ["third"] } }
  let(:handler) { Workflows.handler("chain4", chain, handler: "SpecHandlers::ChainLink") }

  def run_through(init, *names)
    names.each { |n| expect(handle_one_step(init.step_id(n)).status).to eq("complete") }
  end

  it "gives a parent's results from the claim and fetches any other ancestor's once" do
    init = handler.initialize_task(context: { "read" => { "fourth" => %w[first second third] } })
    run_through(init, "first", "second", "third")
    expect(TaskerCore::Engine).to receive(:ancestor_results).twice.and_call_original # first, second; not third
    run_through(init, "fourth")
    results = TaskerCore::Engine.task_status(init.task_id).step("fourth").results
    expect(results["parents"]).to eq(["third"])
    expect(results["read"]).to eq(%w[first second third].to_h { |n| [n, { "step" => n, "parents" => chain[n], "read" => {} }] })
  end

  context "with a claimed step" do
    let(:init) { handler.initialize_task(context: {}) }
    let(:claimed) do
      run_through(init, "first", "second", "third")
      TaskerCore::Engine.claim_one(step_id: init.step_id("fourth"), worker_id: "spec")
    end
    let(:sequence) do
      described_class.new(claimed.dependency_results, step_id: claimed.workflow_step_id,
                                                      claim_token: claimed.claim_token, step_name: claimed.step_name)
    end

    after { TaskerCore::Engine.release_step(step_id: claimed.workflow_step_id, claim_token: claimed.claim_token) rescue nil } # rubocop:disable Style/RescueModifier

    it "reads the first step of a 4-step chain from the last" do
      expect(sequence.step_names).to eq(["third"])
      expect(sequence.result_of("first")).to include("step" => "first")
      expect(sequence.result_of(:second)).to include("step" => "second")
    end

    it "raises NotFoundError naming a step that is no ancestor" do
      %w[nope fourth].each do |name|
        expect { sequence.result_of(name) }.to raise_error(TaskerCore::NotFoundError) { |e|
          expect(e.message).to eq(%(no results for step "#{name}": it is not an ancestor of step "fourth" (its parents: third)))
          expect(e.details).to eq("step" => name, "of" => "fourth")
        }
      end
    end

    it "raises StaleClaimError once the claim is gone" do
      TaskerCore::Engine.release_step(step_id: claimed.workflow_step_id, claim_token: claimed.claim_token)
      expect(sequence.result_of("third")).to include("step" => "third") # came with the claim
      expect { sequence.result_of("first") }.to raise_error(TaskerCore::StaleClaimError)
    end

    it "is the engine's ancestor_results, which names every step that is no ancestor" do
      params = { step_id: claimed.workflow_step_id, claim_token: claimed.claim_token }
      expect(TaskerCore::Engine.ancestor_results(params.merge(names: %w[first second])).keys).to contain_exactly("first", "second")
      expect { TaskerCore::Engine.ancestor_results(params.merge(names: %w[first zz])) }
        .to raise_error(TaskerCore::ValidationError, %(ancestor_results: names[1]: step "zz" is not an ancestor of "fourth"))
      expect { TaskerCore::Engine.ancestor_results(params.merge(names: [])) }
        .to raise_error(TaskerCore::ValidationError, /ancestor_results: .*names/)
      expect { TaskerCore::Engine.ancestor_results(params.merge(names: ["a"], extra: 1)) }
        .to raise_error(TaskerCore::ValidationError, /unexpected keys \[:extra\]/)
    end
  end

  it "without a claim reads only the parents' results" do
    sequence = described_class.new({ "p" => { "x" => 1 } })
    expect(sequence.result_of("p")).to eq("x" => 1)
    expect { sequence.result_of("grandparent") }
      .to raise_error(TaskerCore::NotFoundError, %(no results for step "grandparent": it is not an ancestor of this step (its parents: p)))
  end
end
