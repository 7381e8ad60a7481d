# frozen_string_literal: true

RSpec.describe TaskerCore::Native do
  describe "lazy loading" do
    it "does not dlopen the library on require, only on the first call" do
      out, status = Subprocess.ruby(<<~RUBY)
        require "tasker_core"
        TaskerCore::TaskHandler::Base # constants and handlers are pure Ruby
        mapped = -> { File.read("/proc/self/maps").include?("libtasker_core") }
        puts "after require: \#{mapped.call} \#{TaskerCore::Native.loaded?}"
        TaskerCore.configure { |c| c.database_url = ENV["TASKER_SPEC_DATABASE_URL"] }
        TaskerCore.migrate
        puts "after call: \#{mapped.call} \#{TaskerCore::Native.loaded?}"
      RUBY
      expect(status).to be_success, out
      expect(out).to include("after require: false false", "after call: true true")
    end

    it "refuses a library of another ABI version, naming the file, both versions and the rebuild command" do
      out, status = Subprocess.ruby(<<~RUBY)
        require "tasker_core"
        TaskerCore.send(:remove_const, :ABI_VERSION)
        TaskerCore::ABI_VERSION = 99
        2.times do
          TaskerCore::Engine.task_status(1)
        rescue TaskerCore::AbiMismatchError => e
          puts e.message, e.details.inspect
        end
      RUBY
      expect(status).to be_success, out
      expect(out).to match(%r{build/libtasker_core\.so speaks ABI version #{TaskerCore::ABI_VERSION}, but tasker_core \S+ needs ABI version 99; rebuild the library with make lib})
      expect(out.scan("speaks ABI version").size).to eq(2) # the second call gets the same error
    end

    it "names every place it looked when the library is missing" do
      out, status = Subprocess.ruby(<<~RUBY, env: { "TASKER_CORE_LIB" => "/nonexistent/libtasker_core.so" })
        require "tasker_core"
        begin
          TaskerCore.migrate
        rescue TaskerCore::LibraryNotFoundError => e
          puts e.message
        end
      RUBY
      expect(status).to be_success, out
      expect(out).to include("TASKER_CORE_LIB=/nonexistent/libtasker_core.so does not exist")
    end
  end

  it "attaches every export the library's header declares (but the test-only tasker_debug_*)" do
    described_class.ensure_ready!
    header = [File.join(File.dirname(described_class.library_path), "libtasker_core.h"),
              File.expand_path("../../../bindings/libtasker_core.h", __dir__)].find { |f| File.file?(f) }
    header = File.read(header)
    exports = header.scan(/^extern .*?\b(tasker_\w+)\(/).flatten.reject { |f| f.start_with?("tasker_debug_") }
    expect(exports).to include("tasker_step_release", "tasker_ping", "tasker_stats", "tasker_dispatcher_next")
    expect(exports.reject { |f| described_class.respond_to?(f) }).to eq([])
    calls = described_class::JSON_CALLS + described_class::ID_CALLS + described_class::DISPATCHER_CALLS.keys
    expect(calls).to all(satisfy { |f| described_class.respond_to?(f) })
  end

  it "reads the library's own metrics without touching the database" do
    expect(described_class.stats).to include("initialized" => true, "abi_version" => TaskerCore::ABI_VERSION, "pool_max_conns" => TaskerCore.config.pool_size)
  end

  describe "errors" do
    it "maps every status code to its class" do
      { 1 => TaskerCore::ValidationError, 2 => TaskerCore::NotFoundError, 3 => TaskerCore::DuplicateTaskError,
        4 => TaskerCore::ConflictError, 5 => TaskerCore::InvalidTransitionError, 6 => TaskerCore::StaleClaimError,
        7 => TaskerCore::NotReadyError, 8 => TaskerCore::TimeoutError, 9 => TaskerCore::DatabaseError,
        10 => TaskerCore::InternalError, 11 => TaskerCore::AbiError, 12 => TaskerCore::InvalidHandleError,
        13 => TaskerCore::NotInitializedError, 14 => TaskerCore::ShutdownError }.each do |rc, klass|
        error = TaskerCore::Error.from_status(rc, nil)
        expect(error).to be_a(klass).and(be_a(TaskerCore::Error))
        expect(error.code).to eq(TaskerCore::CODES_BY_STATUS.fetch(rc))
      end
    end

    it "turns a double free into InvalidHandleError, never a crash" do
      handle = described_class.call_handle(:tasker_migrate, 0)
      described_class.handle_free(handle)
      expect { described_class.handle_free(handle) }.to raise_error(TaskerCore::InvalidHandleError)
      expect { described_class.handle_json(handle) }.to raise_error(TaskerCore::InvalidHandleError)
    end

    it "turns a recovered panic into InternalError with the stack in details" do
      err = FFI::MemoryPointer.new(:pointer)
      described_class.attach_function :tasker_debug_panic, [:pointer], :int unless described_class.respond_to?(:tasker_debug_panic)
      rc = described_class.tasker_debug_panic(err)
      expect { described_class.check!(rc, err, :tasker_debug_panic) }
        .to raise_error(TaskerCore::InternalError) { |e| expect(e.details.keys).to include("stack") }
    end
  end

  describe "handles" do
    it "are back where they started after 10,000 calls" do
      init = Workflows.handler(:tree).initialize_task(context: {})
      start = described_class.live_handles
      10_000.times do |i|
        case i % 4
        when 0 then TaskerCore::Engine.step_readiness(init.task_id)
        when 1 then TaskerCore::Engine.task_status(init.task_id)
        when 2 then expect { TaskerCore::Engine.task_status(999_999_999) }.to raise_error(TaskerCore::NotFoundError)
        else expect { handle_one_step(init.step_id("aggregate_results")) }.to raise_error(TaskerCore::NotReadyError)
        end
      end
      expect(described_class.live_handles).to eq(start)
    end

    it "frees a kept handle through its AutoPointer safety net" do
      start = described_class.live_handles
      kept = TaskerCore::Native::Handle.new(described_class.call_handle(:tasker_migrate, 0))
      expect(kept.json).to include("applied" => [])
      expect(described_class.live_handles).to eq(start + 1)
      kept.free
      expect(described_class.live_handles).to eq(start)
    end
  end
end
