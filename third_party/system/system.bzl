"""A repository of Debian's system C++ libraries, one cc_library each.

Headers live in /usr/include, which the auto-configured toolchain already
searches, so each target carries only link options. The options come from
pkg-config where the package ships a .pc file, and are fixed otherwise.
After a package upgrade run `bazel clean --expunge`: /usr is not a Bazel input.
"""

# name -> (pkg-config modules, fixed link options used when there are none)
_LIBRARIES = {
    "protobuf": (["protobuf"], []),
    "grpcpp": (["grpc++"], []),
    "openssl": (["openssl"], []),
    "gtest": (["gtest"], []),
    "gtest_main": (["gtest_main"], []),
    "gmock": (["gmock"], []),
    "gmock_main": (["gmock_main"], []),
    "benchmark": (["benchmark"], []),
    "benchmark_main": ([], ["-lbenchmark_main", "-lbenchmark", "-pthread"]),
    "rapidcheck": ([], ["-lrapidcheck"]),
    # libxcrypt (bcrypt for user passwords).
    "crypt": (["libxcrypt"], []),
}

# Libraries linked after another: (target, deps).
_DEPS = {
    "grpcpp": [":protobuf", ":absl"],
    "gtest_main": [":gtest"],
    "gmock": [":gtest"],
    "gmock_main": [":gmock"],
    "rapidcheck": [":gtest"],
}

def _pkg_config(ctx, modules):
    result = ctx.execute(["pkg-config", "--libs"] + modules)
    if result.return_code != 0:
        fail("pkg-config --libs %s failed (run tools/setup.sh): %s" %
             (" ".join(modules), result.stderr))
    return result.stdout.strip().split(" ")

def _absl_modules(ctx):
    result = ctx.execute(["pkg-config", "--list-all"])
    if result.return_code != 0:
        fail("pkg-config --list-all failed: " + result.stderr)
    modules = []
    for line in result.stdout.splitlines():
        name = line.split(" ")[0]
        if name.startswith("absl_"):
            modules.append(name)
    if not modules:
        fail("no absl_* pkg-config modules: install libabsl-dev (tools/setup.sh)")
    return sorted(modules)

def _library(name, linkopts, deps):
    return """
cc_library(
    name = "{name}",
    linkopts = {linkopts},
    deps = {deps},
)
""".format(name = name, linkopts = repr(linkopts), deps = repr(deps))

def _system_libraries_impl(ctx):
    build = ['package(default_visibility = ["//visibility:public"])']

    # Abseil is split into ~150 small shared libraries; one target links the
    # ones our code needs, in pkg-config's dependency order.
    absl = []
    for opt in _pkg_config(ctx, _absl_modules(ctx)):
        if opt and opt not in absl:
            absl.append(opt)
    build.append(_library("absl", absl, []))

    for name in sorted(_LIBRARIES.keys()):
        modules, fixed = _LIBRARIES[name]
        opts = _pkg_config(ctx, modules) if modules else fixed
        build.append(_library(name, [o for o in opts if o], _DEPS.get(name, [])))

    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD.bazel", "\n".join(build))

system_libraries = repository_rule(
    implementation = _system_libraries_impl,
    local = True,
    environ = ["PKG_CONFIG_PATH"],
)
