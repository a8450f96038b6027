#include "server/storage/mem_disk.h"

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace etcdpp::storage {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

MemDisk::MemDisk(std::string name) : name_(std::move(name)) {}

absl::Status MemDisk::Lock() {
  if (locked_) {
    return absl::FailedPreconditionError(
        absl::StrCat("data dir ", name_, " is locked by another process"));
  }
  locked_ = true;
  return absl::OkStatus();
}

uint64_t MemDisk::Submit(DiskOp op) {
  const uint64_t op_id = next_op_id_++;
  pending_.push_back(Pending{op_id, std::move(op)});
  return op_id;
}

std::vector<DiskCompletion> MemDisk::TakeCompletions() {
  return std::exchange(completed_, {});
}

absl::StatusOr<MemDisk::Inode*> MemDisk::Find(absl::string_view path) {
  if (absl::Status valid = ValidatePath(path); !valid.ok()) return valid;
  const auto it = names_.find(path);
  if (it == names_.end()) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  const auto inode = inodes_.find(it->second);
  CHECK(inode != inodes_.end()) << "every current name refers to an inode";
  return &inode->second;
}

absl::StatusOr<std::string> MemDisk::ReadFile(absl::string_view path) {
  absl::StatusOr<Inode*> inode = Find(path);
  if (!inode.ok()) return inode.status();
  return (*inode)->current;
}

absl::StatusOr<uint64_t> MemDisk::FileSize(absl::string_view path) {
  absl::StatusOr<Inode*> inode = Find(path);
  if (!inode.ok()) return inode.status();
  return (*inode)->current.size();
}

absl::StatusOr<std::vector<std::string>> MemDisk::List() {
  // std::map orders std::string bytewise, as the contract asks.
  std::vector<std::string> names;
  for (const auto& [name, inode] : names_) names.push_back(name);
  return names;
}

std::vector<uint64_t> MemDisk::PendingOps() const {
  std::vector<uint64_t> ids;
  for (const Pending& p : pending_) ids.push_back(p.op_id);
  return ids;
}

void MemDisk::Complete(size_t n) {
  for (size_t i = 0; i < n && !pending_.empty(); ++i) CompleteAt(0);
}

void MemDisk::CompleteOp(uint64_t op_id) {
  const auto target =
      std::find_if(pending_.begin(), pending_.end(),
                   [&](const Pending& p) { return p.op_id == op_id; });
  if (target == pending_.end()) return;
  // Walk back from the target collecting every earlier op that shares a key
  // with it or with an op already collected: all must complete first.
  std::vector<std::string> target_keys = OpKeys(target->op);
  std::set<std::string> keys(target_keys.begin(), target_keys.end());
  std::vector<uint64_t> order = {op_id};
  for (auto it = std::make_reverse_iterator(target); it != pending_.rend();
       ++it) {
    const std::vector<std::string> op_keys = OpKeys(it->op);
    const bool shares =
        keys.count(kAllKeys) > 0 ||
        std::any_of(op_keys.begin(), op_keys.end(), [&](const std::string& k) {
          return k == kAllKeys || keys.count(k) > 0;
        });
    if (!shares) continue;
    keys.insert(op_keys.begin(), op_keys.end());
    order.push_back(it->op_id);
  }
  std::reverse(order.begin(), order.end());
  for (const uint64_t id : order) {
    const auto it =
        std::find_if(pending_.begin(), pending_.end(),
                     [&](const Pending& p) { return p.op_id == id; });
    CHECK(it != pending_.end()) << "a collected op is still pending";
    CompleteAt(static_cast<size_t>(it - pending_.begin()));
  }
}

void MemDisk::CompleteAt(size_t position) {
  CHECK_LT(position, pending_.size()) << "completing a pending op";
  Pending op = std::move(pending_[position]);
  pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(position));
  absl::Status status;
  if (!first_failure_.ok()) {
    status = absl::FailedPreconditionError(absl::StrCat(
        DescribeOp(op.op),
        ": not done after an earlier failure: ", first_failure_.message()));
  } else {
    status = Apply(op.op);
    if (!status.ok()) first_failure_ = status;
  }
  completed_.push_back(DiskCompletion{op.op_id, std::move(status)});
}

absl::Status MemDisk::Apply(const DiskOp& op) {
  const std::string what = DescribeOp(op);
  return std::visit(
      Overloaded{
          [&](const CreateOp& o) { return ApplyCreate(o.path, what); },
          [&](const AppendOp& o) -> absl::Status {
            absl::StatusOr<uint64_t> size = FileSize(o.path);
            if (!size.ok()) return size.status();
            return ApplyData(o.path, DataChange{false, *size, o.bytes}, true,
                             what);
          },
          [&](const WriteOp& o) {
            return ApplyData(o.path, DataChange{false, o.offset, o.bytes}, true,
                             what);
          },
          [&](const TruncateOp& o) -> absl::Status {
            absl::StatusOr<uint64_t> size = FileSize(o.path);
            if (!size.ok()) return size.status();
            return ApplyData(o.path, DataChange{true, o.size, {}},
                             o.size > *size, what);
          },
          [&](const SyncOp& o) { return ApplySync(o.path, what); },
          [&](const RenameOp& o) { return ApplyRename(o.from, o.to); },
          [&](const RemoveOp& o) -> absl::Status {
            if (absl::StatusOr<Inode*> f = Find(o.path); !f.ok()) {
              return f.status();
            }
            ChangeDir({NameEdit{o.path, std::nullopt}});
            return absl::OkStatus();
          },
          [&](const SyncDirOp&) { return ApplySyncDir(what); },
          [&](const PreallocateOp& o) -> absl::Status {
            absl::StatusOr<uint64_t> size = FileSize(o.path);
            if (!size.ok()) return size.status();
            if (o.size <= *size) return absl::OkStatus();
            return ApplyData(o.path, DataChange{true, o.size, {}}, true, what);
          },
          [](const BarrierOp&) { return absl::OkStatus(); },
      },
      op);
}

absl::Status MemDisk::ApplyCreate(const std::string& path,
                                  const std::string& what) {
  if (absl::Status s = ValidatePath(path); !s.ok()) return s;
  // Like O_TRUNC: an existing file keeps its inode and loses its data.
  if (names_.count(path) > 0) {
    return ApplyData(path, DataChange{true, 0, {}}, false, what);
  }
  const uint64_t inode = next_inode_++;
  inodes_[inode] = Inode{};
  ChangeDir({NameEdit{path, inode}});
  return absl::OkStatus();
}

absl::Status MemDisk::ApplyData(const std::string& path, DataChange change,
                                bool needs_space, const std::string& what) {
  absl::StatusOr<Inode*> inode = Find(path);
  if (!inode.ok()) return inode.status();
  if (needs_space && no_space_) return ErrnoStatus(ENOSPC, what);
  ApplyChange(change, &(*inode)->current);
  (*inode)->unsynced.push_back(std::move(change));
  return absl::OkStatus();
}

absl::Status MemDisk::ApplySync(const std::string& path,
                                const std::string& what) {
  absl::StatusOr<Inode*> inode = Find(path);
  if (!inode.ok()) return inode.status();
  if (fail_next_sync_) {
    fail_next_sync_ = false;
    return ErrnoStatus(EIO, what);
  }
  // Replaying the changes costs what was written since the last sync; a
  // copy of current would cost the whole (preallocated) file every fsync.
  for (const DataChange& change : (*inode)->unsynced) {
    ApplyChange(change, &(*inode)->synced);
  }
  (*inode)->unsynced.clear();
  CHECK_EQ((*inode)->synced.size(), (*inode)->current.size())
      << "synced plus the unsynced changes is current";
  return absl::OkStatus();
}

absl::Status MemDisk::ApplyRename(const std::string& from,
                                  const std::string& to) {
  if (absl::Status s = ValidatePath(to); !s.ok()) return s;
  const auto it = names_.find(from);
  if (absl::StatusOr<Inode*> f = Find(from); !f.ok()) return f.status();
  if (from == to) return absl::OkStatus();
  ChangeDir({NameEdit{to, it->second}, NameEdit{from, std::nullopt}});
  return absl::OkStatus();
}

absl::Status MemDisk::ApplySyncDir(const std::string& what) {
  if (fail_next_sync_) {
    fail_next_sync_ = false;
    return ErrnoStatus(EIO, what);
  }
  synced_names_ = names_;
  unsynced_dir_.clear();
  DropUnreferencedInodes();
  return absl::OkStatus();
}

void MemDisk::ChangeDir(std::vector<NameEdit> edits) {
  ApplyEdits(edits, &names_);
  unsynced_dir_.push_back(DirChange{std::move(edits)});
}

void MemDisk::ApplyEdits(const std::vector<NameEdit>& edits,
                         std::map<std::string, uint64_t, std::less<>>* names) {
  for (const auto& [name, inode] : edits) {
    if (inode.has_value()) {
      (*names)[name] = *inode;
    } else {
      names->erase(name);
    }
  }
}

void MemDisk::ApplyChange(const DataChange& change, std::string* contents) {
  if (change.is_truncate) {
    contents->resize(change.offset_or_size, '\0');
    return;
  }
  const uint64_t end = change.offset_or_size + change.bytes.size();
  if (contents->size() < end) contents->resize(end, '\0');
  contents->replace(change.offset_or_size, change.bytes.size(), change.bytes);
}

void MemDisk::DropUnreferencedInodes() {
  // An inode lives while a current name, a durable name or an unsynced
  // directory change (which a torn crash may yet make durable) refers to it.
  std::set<uint64_t> live;
  for (const auto& [name, inode] : names_) live.insert(inode);
  for (const auto& [name, inode] : synced_names_) live.insert(inode);
  for (const DirChange& change : unsynced_dir_) {
    for (const auto& [name, inode] : change.edits) {
      if (inode.has_value()) live.insert(*inode);
    }
  }
  std::erase_if(
      inodes_, [&](const auto& entry) { return live.count(entry.first) == 0; });
}

void MemDisk::Crash() {
  pending_.clear();
  completed_.clear();
  for (auto& [id, inode] : inodes_) {
    inode.current = inode.synced;
    inode.unsynced.clear();
  }
  names_ = synced_names_;
  unsynced_dir_.clear();
  DropUnreferencedInodes();
  locked_ = false;
  first_failure_ = absl::OkStatus();
}

void MemDisk::CrashTorn(base::Prng& prng) {
  // std::map iterates in inode order, so the prng draws are deterministic.
  for (auto& [id, inode] : inodes_) {
    const uint64_t kept = prng.Uniform(inode.unsynced.size() + 1);
    for (uint64_t i = 0; i < kept; ++i) {
      ApplyChange(inode.unsynced[i], &inode.synced);
    }
    if (kept < inode.unsynced.size() && !inode.unsynced[kept].is_truncate) {
      DataChange partial = inode.unsynced[kept];
      partial.bytes.resize(prng.Uniform(partial.bytes.size() + 1));
      ApplyChange(partial, &inode.synced);
    }
  }
  const uint64_t kept_dir = prng.Uniform(unsynced_dir_.size() + 1);
  for (uint64_t i = 0; i < kept_dir; ++i) {
    ApplyEdits(unsynced_dir_[i].edits, &synced_names_);
  }
  Crash();
}

absl::StatusOr<std::string*> MemDisk::FindSynced(absl::string_view path) {
  const auto it = synced_names_.find(path);
  if (it == synced_names_.end()) {
    return absl::NotFoundError(absl::StrCat(path, ": not durable"));
  }
  return &inodes_.at(it->second).synced;
}

absl::Status MemDisk::CorruptSynced(absl::string_view path, uint64_t offset,
                                    uint8_t mask) {
  return ZeroOrFlip(path, offset, 1, mask, /*zero=*/false);
}

absl::Status MemDisk::ZeroSynced(absl::string_view path, uint64_t offset,
                                 uint64_t length) {
  return ZeroOrFlip(path, offset, length, 0, /*zero=*/true);
}

absl::Status MemDisk::ZeroOrFlip(absl::string_view path, uint64_t offset,
                                 uint64_t length, uint8_t mask, bool zero) {
  absl::StatusOr<std::string*> synced = FindSynced(path);
  if (!synced.ok()) return synced.status();
  if (offset + length > (*synced)->size()) {
    return absl::OutOfRangeError(
        absl::StrCat(path, ": offset ", offset, " + ", length,
                     " is past the synced size ", (*synced)->size()));
  }
  // The page cache holds the same bytes; damage both so that a read before
  // or after a crash sees it.
  std::string* current = nullptr;
  if (const auto it = names_.find(path);
      it != names_.end() && it->second == synced_names_.at(std::string(path))) {
    current = &inodes_.at(it->second).current;
  }
  for (uint64_t i = offset; i < offset + length; ++i) {
    char& c = (**synced)[i];
    c = zero ? '\0' : static_cast<char>(c ^ mask);
    if (current != nullptr && i < current->size()) (*current)[i] = c;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> MemDisk::SyncedContents(
    absl::string_view path) const {
  const auto it = synced_names_.find(path);
  if (it == synced_names_.end()) {
    return absl::NotFoundError(absl::StrCat(path, ": not durable"));
  }
  return inodes_.at(it->second).synced;
}

}  // namespace etcdpp::storage
