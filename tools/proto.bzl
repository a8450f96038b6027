"""etcd_proto: one line in a BUILD file compiles one .proto with system protoc.

Bazel's native proto rules would fetch rules_proto and protoc from the
network, so this macro runs Debian's /usr/bin/protoc (and
/usr/bin/grpc_cpp_plugin for services) in a genrule. It declares:

  <name>        cc_library of the messages (protobuf only)
  <name>_grpc   cc_library of the service stubs (links grpc++), if grpc = True
  <name>_files  the .proto and every .proto it imports, for dependents

Import paths are relative to the repository root (`protoc -I .`).
"""

def etcd_proto(name, src, deps = [], grpc = False, visibility = None):
    base = src[:-len(".proto")]
    files = name + "_files"
    native.filegroup(
        name = files,
        srcs = [src] + [d + "_files" for d in deps],
        visibility = visibility,
    )

    outs = [base + ".pb.h", base + ".pb.cc"]
    cmd = "/usr/bin/protoc -I . --cpp_out=$(GENDIR) $(location %s)" % src
    if grpc:
        outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
        cmd += (" --grpc_out=$(GENDIR)" +
                " --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin")

    native.genrule(
        name = name + "_gen",
        srcs = [src, ":" + files],
        outs = outs,
        cmd = cmd,
        message = "protoc " + src,
    )

    native.cc_library(
        name = name,
        srcs = [base + ".pb.cc"],
        hdrs = [base + ".pb.h"],
        deps = deps + ["@system//:protobuf"],
        visibility = visibility,
    )

    if grpc:
        native.cc_library(
            name = name + "_grpc",
            srcs = [base + ".grpc.pb.cc"],
            hdrs = [base + ".grpc.pb.h"],
            deps = [":" + name, "@system//:grpcpp"],
            visibility = visibility,
        )
