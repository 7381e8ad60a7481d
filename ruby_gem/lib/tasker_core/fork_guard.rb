# frozen_string_literal: true

module TaskerCore
  # Prepended to Process.singleton_class: a child forked from a process that
  # had loaded the native library is marked poisoned, so its first call
  # raises ForkError instead of hanging in the Go runtime (DESIGN Rule 3).
  # Kernel#fork, Process.fork and IO.popen("-") all go through Process._fork
  # (Ruby >= 3.1); Process.daemon does not, so it is hooked too.
  module ForkGuard
    def _fork
      pid = super
      TaskerCore::Native.poison! if pid.zero?
      pid
    end

    def daemon(*args)
      result = super
      TaskerCore::Native.poison!
      result
    end
  end
end

Process.singleton_class.prepend(TaskerCore::ForkGuard)
