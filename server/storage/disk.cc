#include "server/storage/disk.h"

#include "absl/strings/str_cat.h"

namespace etcdpp::storage {
namespace {

// Visitor overload set for std::visit.
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

std::string DescribeOp(const DiskOp& op) {
  return std::visit(
      Overloaded{
          [](const CreateOp& o) { return absl::StrCat("create ", o.path); },
          [](const AppendOp& o) { return absl::StrCat("append ", o.path); },
          [](const WriteOp& o) {
            return absl::StrCat("write ", o.path, " at ", o.offset);
          },
          [](const TruncateOp& o) {
            return absl::StrCat("truncate ", o.path, " to ", o.size);
          },
          [](const SyncOp& o) { return absl::StrCat("fsync ", o.path); },
          [](const RenameOp& o) {
            return absl::StrCat("rename ", o.from, " to ", o.to);
          },
          [](const RemoveOp& o) { return absl::StrCat("remove ", o.path); },
          [](const SyncDirOp&) { return std::string("fsync data dir"); },
          [](const PreallocateOp& o) {
            return absl::StrCat("preallocate ", o.path, " to ", o.size);
          },
          [](const BarrierOp&) { return std::string("barrier"); },
      },
      op);
}

std::vector<std::string> OpKeys(const DiskOp& op) {
  const std::string dir;
  return std::visit(
      Overloaded{
          [&](const CreateOp& o) {
            return std::vector{o.path, dir};
          },
          [](const AppendOp& o) { return std::vector{o.path}; },
          [](const WriteOp& o) { return std::vector{o.path}; },
          [](const TruncateOp& o) { return std::vector{o.path}; },
          [](const SyncOp& o) { return std::vector{o.path}; },
          [&](const RenameOp& o) {
            return std::vector{o.from, o.to, dir};
          },
          [&](const RemoveOp& o) {
            return std::vector{o.path, dir};
          },
          [&](const SyncDirOp&) { return std::vector{dir}; },
          [](const PreallocateOp& o) { return std::vector{o.path}; },
          [](const BarrierOp&) { return std::vector<std::string>{kAllKeys}; },
      },
      op);
}

absl::Status ValidatePath(absl::string_view path) {
  if (path.empty() || path == "." || path == ".." ||
      path.find('/') != absl::string_view::npos ||
      path.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("disk: invalid file name \"", path,
                     "\": must be a plain name inside the data dir"));
  }
  return absl::OkStatus();
}

absl::Status ErrnoStatus(int err, absl::string_view what) {
  return absl::ErrnoToStatus(err, what);
}

}  // namespace etcdpp::storage
