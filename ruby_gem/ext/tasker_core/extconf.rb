# frozen_string_literal: true

# Builds libtasker_core.so at `gem install` with `go build -buildmode=c-shared`
# into lib/tasker_core/, where TaskerCore::Native::Locator finds it. Needs Go
# (>= the go.mod's version) and the Go sources packaged with the gem (go/).
require "mkmf"
require "rbconfig"

gem_root = File.expand_path("../..", __dir__)
source = [File.join(gem_root, "go"), File.expand_path("..", gem_root)].find { |d| File.file?(File.join(d, "go.mod")) }
abort "tasker_core: no Go sources (go.mod) found next to the gem; cannot build libtasker_core.so" unless source
go = find_executable("go") || ["/usr/local/go/bin/go"].find { |g| File.executable?(g) }
abort "tasker_core: the Go toolchain is needed to build libtasker_core.so; install Go and retry" unless go

target = File.join(gem_root, "lib", "tasker_core", "libtasker_core.so")
# A packaged gem carries its Go dependencies in go/vendor, so it builds offline.
mod = File.directory?(File.join(source, "vendor")) ? "-mod=vendor" : ""

File.write("Makefile", <<~MAKE)
  all:
  \tcd #{source} && CGO_ENABLED=1 GOTOOLCHAIN=local #{go} build #{mod} -tags tasker_release -buildmode=c-shared -trimpath -ldflags="-s -w" -o #{target} ./ffi
  \trm -f #{target.sub(/\.so\z/, '.h')}
  install: all
  clean:
  \trm -f #{target}
MAKE
