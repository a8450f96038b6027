#include "server/storage/snapshot_file.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/storage/coding.h"
#include "server/storage/crc32c.h"

namespace etcdpp::storage {
namespace {

constexpr char kMagic[] = "ETCDPPSN";
constexpr uint32_t kVersion = 1;
constexpr absl::string_view kTempSuffix = ".tmp";

absl::Status Corrupt(absl::string_view name, absl::string_view why) {
  return absl::DataLossError(
      absl::StrCat("snapshot: corrupt file ", name, ": ", why));
}

std::optional<uint64_t> ParseHex16(absl::string_view digits) {
  if (digits.size() != 16) return std::nullopt;
  for (const char c : digits) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return std::nullopt;
    }
  }
  uint64_t value = 0;
  if (!absl::SimpleHexAtoi(digits, &value)) return std::nullopt;
  return value;
}

// The snapshot files in disk, newest (highest index) first.
absl::StatusOr<std::vector<std::pair<SnapshotId, std::string>>> ListNewestFirst(
    Disk& disk) {
  absl::StatusOr<std::vector<std::string>> names = disk.List();
  if (!names.ok()) return names.status();
  std::vector<std::pair<SnapshotId, std::string>> files;
  for (const std::string& name : *names) {
    if (const std::optional<SnapshotId> id = ParseSnapshotFileName(name)) {
      files.emplace_back(*id, name);
    }
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
    if (a.first.index != b.first.index) return a.first.index > b.first.index;
    return a.first.term > b.first.term;
  });
  return files;
}

}  // namespace

std::string SnapshotFileName(uint64_t term, uint64_t index) {
  return absl::StrFormat("snap-%016x-%016x.snap", term, index);
}

std::optional<SnapshotId> ParseSnapshotFileName(absl::string_view name) {
  // snap- <16 hex> - <16 hex> .snap
  if (name.size() != 5 + 16 + 1 + 16 + 5 || !absl::StartsWith(name, "snap-") ||
      !absl::EndsWith(name, ".snap") || name[21] != '-') {
    return std::nullopt;
  }
  const std::optional<uint64_t> term = ParseHex16(name.substr(5, 16));
  const std::optional<uint64_t> index = ParseHex16(name.substr(22, 16));
  if (!term.has_value() || !index.has_value()) return std::nullopt;
  return SnapshotId{*term, *index};
}

bool IsTempSnapshotFileName(absl::string_view name) {
  return absl::EndsWith(name, kTempSuffix) &&
         ParseSnapshotFileName(name.substr(0, name.size() - kTempSuffix.size()))
             .has_value();
}

std::string EncodeSnapshotFile(const raftpb::SnapshotMetadata& metadata,
                               absl::string_view body) {
  const std::string encoded_metadata = metadata.SerializeAsString();
  std::string out(kMagic, 8);
  PutFixed32(&out, kVersion);
  PutFixed32(&out, static_cast<uint32_t>(encoded_metadata.size()));
  PutFixed64(&out, body.size());
  out += encoded_metadata;
  out.append(body.data(), body.size());
  PutFixed32(&out, crc32c::Mask(crc32c::Value(out)));
  return out;
}

absl::StatusOr<SnapshotFile> DecodeSnapshotFile(absl::string_view name,
                                                absl::string_view data) {
  if (data.size() < kSnapshotHeaderSize + kSnapshotTrailerSize) {
    return Corrupt(name, "truncated header");
  }
  const absl::string_view covered = data.substr(0, data.size() - 4);
  if (crc32c::Unmask(DecodeFixed32(data.data() + covered.size())) !=
      crc32c::Value(covered)) {
    return Corrupt(name, "checksum mismatch");
  }
  if (data.substr(0, 8) != absl::string_view(kMagic, 8)) {
    return Corrupt(name, "bad magic");
  }
  if (DecodeFixed32(data.data() + 8) != kVersion) {
    return Corrupt(name, "unsupported format version");
  }
  const uint64_t metadata_length = DecodeFixed32(data.data() + 12);
  const uint64_t body_length = DecodeFixed64(data.data() + 16);
  const uint64_t room = covered.size() - kSnapshotHeaderSize;
  if (metadata_length > room || body_length != room - metadata_length) {
    return Corrupt(name, "bad length");
  }
  SnapshotFile file;
  file.name = std::string(name);
  if (!file.metadata.ParseFromArray(data.data() + kSnapshotHeaderSize,
                                    static_cast<int>(metadata_length))) {
    return Corrupt(name, "unparsable metadata");
  }
  const std::optional<SnapshotId> id = ParseSnapshotFileName(name);
  if (!id.has_value() || id->term != file.metadata.term() ||
      id->index != file.metadata.index()) {
    return Corrupt(name,
                   absl::StrCat("metadata says term ", file.metadata.term(),
                                ", index ", file.metadata.index()));
  }
  file.body =
      std::string(covered.substr(kSnapshotHeaderSize + metadata_length));
  return file;
}

std::vector<uint64_t> SaveSnapshotFile(Disk& disk,
                                       const raftpb::SnapshotMetadata& metadata,
                                       absl::string_view body) {
  const std::string name = SnapshotFileName(metadata.term(), metadata.index());
  const std::string temp = absl::StrCat(name, kTempSuffix);
  return {
      disk.Submit(CreateOp{temp}),
      disk.Submit(WriteOp{temp, 0, EncodeSnapshotFile(metadata, body)}),
      disk.Submit(SyncOp{temp}),
      disk.Submit(RenameOp{temp, name}),
      disk.Submit(SyncDirOp{}),
  };
}

absl::StatusOr<SnapshotFile> LoadSnapshotFile(Disk& disk,
                                              absl::string_view name) {
  absl::StatusOr<std::string> data = disk.ReadFile(name);
  if (!data.ok()) return data.status();
  return DecodeSnapshotFile(name, *data);
}

absl::StatusOr<NewestSnapshot> LoadNewestValidSnapshot(Disk& disk) {
  absl::StatusOr<std::vector<std::pair<SnapshotId, std::string>>> files =
      ListNewestFirst(disk);
  if (!files.ok()) return files.status();
  NewestSnapshot newest;
  for (const auto& [id, name] : *files) {
    absl::StatusOr<SnapshotFile> file = LoadSnapshotFile(disk, name);
    if (file.ok()) {
      newest.snapshot = std::move(*file);
      break;
    }
    if (!absl::IsDataLoss(file.status())) return file.status();
    newest.skipped.push_back(file.status());
  }
  return newest;
}

absl::StatusOr<std::vector<SubmittedRemoval>> RetainSnapshots(
    Disk& disk, size_t keep, const std::set<std::string>& spared) {
  absl::StatusOr<std::vector<std::pair<SnapshotId, std::string>>> files =
      ListNewestFirst(disk);
  if (!files.ok()) return files.status();
  std::vector<SubmittedRemoval> removals;
  for (size_t i = keep; i < files->size(); ++i) {
    const std::string& name = (*files)[i].second;
    if (spared.contains(name)) continue;
    removals.push_back(SubmittedRemoval{disk.Submit(RemoveOp{name}), name});
  }
  return removals;
}

}  // namespace etcdpp::storage
