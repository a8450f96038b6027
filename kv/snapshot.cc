#include "kv/snapshot.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/crc32c.h"

namespace etcdpp::kv {
namespace {

// Record types and section ids; see snapshot_format.md.
constexpr uint8_t kHeaderRecord = 1;
constexpr uint8_t kSectionRecord = 2;
constexpr uint8_t kChangeRecord = 3;
constexpr uint8_t kAppliedIdRecord = 4;
constexpr uint8_t kLeaseRecord = 5;
constexpr uint8_t kAlarmRecord = 6;
constexpr uint8_t kAuthStateRecord = 7;
constexpr uint8_t kAuthUserRecord = 8;
constexpr uint8_t kAuthRoleRecord = 9;
constexpr uint8_t kResultRecord = 10;
constexpr uint8_t kTrailerRecord = 0xFF;

constexpr uint8_t kKvSection = 1;
constexpr uint8_t kLeaseSection = 2;
constexpr uint8_t kAuthSection = 3;
constexpr uint8_t kAlarmSection = 4;
constexpr uint8_t kAppliedIdsSection = 5;
constexpr uint8_t kResultsSection = 6;  // version 4 on

uint8_t LastSection(uint32_t version) {
  return version >= 4 ? kResultsSection : kAppliedIdsSection;
}

constexpr uint8_t kTombstoneFlag = 1;

constexpr std::string_view kMagic = "etcdppkv";
constexpr size_t kRecordHeaderBytes = 1 + 4;
constexpr size_t kHeaderPayloadBytes = 8 + 4 + 8;
constexpr size_t kSectionPayloadBytes = 1 + 8;
constexpr size_t kKvSectionPayloadBytes = kSectionPayloadBytes + 8 + 8;
constexpr size_t kChangeFixedBytes = 1 + 8 + 8;
constexpr size_t kAppliedIdPayloadBytes = 8;
constexpr size_t kResultFixedBytes = 8 + 8 + 4 + 4;
constexpr size_t kLeasePayloadBytes = 8 + 8 + 8;
constexpr size_t kAlarmPayloadBytes = 8 + 4;
constexpr size_t kAuthStatePayloadBytes = 1 + 8;
constexpr size_t kTrailerPayloadBytes = 8 + 8 + 4;
static_assert(kHeaderPayloadBytes == 20, "header layout");
static_assert(kTrailerPayloadBytes == 20, "trailer layout");

void PutFixed(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU32(std::string* out, uint32_t v) { PutFixed(out, v, 4); }
void PutU64(std::string* out, uint64_t v) { PutFixed(out, v, 8); }
void PutI64(std::string* out, int64_t v) {
  PutU64(out, static_cast<uint64_t>(v));
}

uint64_t GetFixed(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i]))
         << (8 * i);
  }
  return v;
}
uint32_t GetU32(std::string_view in, size_t at) {
  return static_cast<uint32_t>(GetFixed(in, at, 4));
}
uint64_t GetU64(std::string_view in, size_t at) { return GetFixed(in, at, 8); }
int64_t GetI64(std::string_view in, size_t at) {
  return static_cast<int64_t>(GetU64(in, at));
}

const char* SectionName(uint8_t id) {
  switch (id) {
    case kKvSection:
      return "kv";
    case kLeaseSection:
      return "lease";
    case kAuthSection:
      return "auth";
    case kAlarmSection:
      return "alarm";
    case kAppliedIdsSection:
      return "applied ids";
    case kResultsSection:
      return "results";
  }
  return "unknown";
}

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("kv snapshot: ", what));
}

}  // namespace

// ---------------------------------------------------------------------------
// SnapshotWriter

SnapshotWriter::SnapshotWriter(const Applier& applier, uint64_t applied_index,
                               SnapshotWriterOptions options)
    : applier_(applier),
      applied_index_(applied_index),
      options_(options),
      current_revision_(applier.store().current_revision()),
      compact_revision_(applier.store().compact_revision()),
      applied_id_count_(applier.applied_ids().size()),
      newest_applied_id_(applier.applied_ids().empty()
                             ? 0
                             : applier.applied_ids().back()),
      result_count_(applier.remembered_results().size()),
      lease_count_(applier.lessor().leases().size()),
      auth_revision_(applier.auth().revision()),
      auth_enabled_(applier.auth().enabled()) {
  CHECK_GT(options_.max_chunk_bytes, 0u) << "a chunk holds at least a byte";
}

void SnapshotWriter::AppendRecord(uint8_t type, std::string_view payload) {
  CHECK_LE(payload.size(), kMaxSnapshotRecordBytes)
      << "a record fits the reader's limit";
  const size_t start = pending_.size();
  pending_.push_back(static_cast<char>(type));
  PutU32(&pending_, static_cast<uint32_t>(payload.size()));
  pending_.append(payload);
  const std::string_view record = std::string_view(pending_).substr(start);
  // The trailer closes the checksummed part of the stream; it is not in it.
  if (type != kTrailerRecord) {
    crc_ = base::crc32c::Extend(crc_, record);
    ++records_;
  }
  encoded_bytes_ += record.size();
}

void SnapshotWriter::EncodeNext() {
  std::string payload;
  switch (stage_) {
    case Stage::kHeader:
      payload.append(kMagic);
      PutU32(&payload, kSnapshotFormatVersion);
      PutU64(&payload, applied_index_);
      AppendRecord(kHeaderRecord, payload);
      stage_ = Stage::kKv;
      return;
    case Stage::kKv:
      payload.push_back(static_cast<char>(kKvSection));
      PutU64(&payload, applier_.store().change_count());
      PutI64(&payload, current_revision_);
      PutI64(&payload, compact_revision_);
      AppendRecord(kSectionRecord, payload);
      stage_ = Stage::kChanges;
      return;
    case Stage::kChanges: {
      const auto next = applier_.store().NextChange(cursor_);
      if (!next.has_value()) {
        stage_ = Stage::kLeases;
        return;
      }
      const auto& [rev, kv] = *next;
      payload.push_back(kv->create_revision() == 0 ? kTombstoneFlag : 0);
      PutI64(&payload, rev.main);
      PutI64(&payload, rev.sub);
      CHECK(kv->AppendToString(&payload)) << "a KeyValue serializes";
      AppendRecord(kChangeRecord, payload);
      cursor_ = rev;
      return;
    }
    case Stage::kLeases:
      EncodeNextLease();
      return;
    case Stage::kOtherSections: {
      EncodeAuthSection();
      // Alarms are few: the section and all its records at once.
      const std::vector<etcdserverpb::AlarmMember> alarms =
          applier_.alarms().Get(etcdserverpb::NONE);
      payload.push_back(static_cast<char>(kAlarmSection));
      PutU64(&payload, alarms.size());
      AppendRecord(kSectionRecord, payload);
      for (const etcdserverpb::AlarmMember& alarm : alarms) {
        payload.clear();
        PutU64(&payload, alarm.memberid());
        PutU32(&payload, static_cast<uint32_t>(alarm.alarm()));
        AppendRecord(kAlarmRecord, payload);
      }
      payload.clear();
      payload.push_back(static_cast<char>(kAppliedIdsSection));
      PutU64(&payload, applied_id_count_);
      AppendRecord(kSectionRecord, payload);
      stage_ = Stage::kAppliedIds;
      return;
    }
    case Stage::kAppliedIds:
      if (applied_id_cursor_ == applied_id_count_) {
        payload.push_back(static_cast<char>(kResultsSection));
        PutU64(&payload, result_count_);
        AppendRecord(kSectionRecord, payload);
        stage_ = Stage::kResults;
        return;
      }
      PutU64(&payload, applier_.applied_ids()[applied_id_cursor_++]);
      AppendRecord(kAppliedIdRecord, payload);
      return;
    case Stage::kResults: {
      if (result_cursor_ == result_count_) {
        stage_ = Stage::kTrailer;
        return;
      }
      const RememberedResult& r =
          applier_.remembered_results()[result_cursor_++];
      PutU64(&payload, r.id);
      PutI64(&payload, r.revision);
      PutU32(&payload, static_cast<uint32_t>(r.status.code()));
      PutU32(&payload, static_cast<uint32_t>(r.status.message().size()));
      payload.append(r.status.message().data(), r.status.message().size());
      payload.append(r.response);
      AppendRecord(kResultRecord, payload);
      return;
    }
    case Stage::kTrailer:
      PutU64(&payload, records_);
      PutU64(&payload, encoded_bytes_);
      PutU32(&payload, crc_);
      AppendRecord(kTrailerRecord, payload);
      stage_ = Stage::kDone;
      return;
    case Stage::kDone:
      return;
  }
}

// The lease section's header, then one lease per call, by id.
void SnapshotWriter::EncodeNextLease() {
  std::string payload;
  if (!lease_section_written_) {
    lease_section_written_ = true;
    payload.push_back(static_cast<char>(kLeaseSection));
    PutU64(&payload, lease_count_);
    AppendRecord(kSectionRecord, payload);
    return;
  }
  const auto& leases = applier_.lessor().leases();
  auto it = lease_cursor_.has_value() ? leases.upper_bound(*lease_cursor_)
                                      : leases.begin();
  if (it == leases.end()) {
    stage_ = Stage::kOtherSections;
    return;
  }
  PutI64(&payload, it->second.id);
  PutI64(&payload, it->second.ttl_seconds);
  PutI64(&payload, it->second.remaining_ttl_seconds);
  AppendRecord(kLeaseRecord, payload);
  lease_cursor_ = it->first;
}

void SnapshotWriter::EncodeAuthSection() {
  // The auth state is small (users and roles, never keys), so the whole
  // section is encoded at once.
  const AuthStore& auth = applier_.auth();
  std::string payload;
  payload.push_back(static_cast<char>(kAuthSection));
  PutU64(&payload, 1 + auth.users().size() + auth.roles().size());
  AppendRecord(kSectionRecord, payload);
  payload.clear();
  payload.push_back(auth.enabled() ? 1 : 0);
  PutU64(&payload, auth.revision());
  AppendRecord(kAuthStateRecord, payload);
  for (const auto& [name, user] : auth.users()) {
    payload.clear();
    // Deterministic: the same message gives the same bytes on every replica.
    CHECK(user.AppendToString(&payload)) << "a User serializes";
    AppendRecord(kAuthUserRecord, payload);
  }
  for (const auto& [name, role] : auth.roles()) {
    payload.clear();
    CHECK(role.AppendToString(&payload)) << "a Role serializes";
    AppendRecord(kAuthRoleRecord, payload);
  }
}

bool SnapshotWriter::Next(std::string* chunk) {
  chunk->clear();
  CHECK_EQ(applier_.store().current_revision(), current_revision_)
      << "the store does not change while a snapshot of it is written";
  CHECK_EQ(applier_.store().compact_revision(), compact_revision_)
      << "the store does not change while a snapshot of it is written";
  CHECK(applier_.applied_ids().size() == applied_id_count_ &&
        (applied_id_count_ == 0 ||
         applier_.applied_ids().back() == newest_applied_id_))
      << "the applied ids do not change while a snapshot is written";
  CHECK_EQ(applier_.remembered_results().size(), result_count_)
      << "the remembered results do not change while a snapshot is written";
  CHECK_EQ(applier_.lessor().leases().size(), lease_count_)
      << "the leases do not change while a snapshot is written";
  CHECK(applier_.auth().revision() == auth_revision_ &&
        applier_.auth().enabled() == auth_enabled_)
      << "the auth state does not change while a snapshot is written";
  while (pending_.size() - pending_offset_ < options_.max_chunk_bytes &&
         stage_ != Stage::kDone) {
    EncodeNext();
  }
  const size_t n =
      std::min(options_.max_chunk_bytes, pending_.size() - pending_offset_);
  if (n == 0) return false;
  chunk->assign(pending_, pending_offset_, n);
  pending_offset_ += n;
  bytes_written_ += n;
  // Drop what was returned, at most once per chunk, so pending_ stays
  // within a chunk and a record.
  pending_.erase(0, pending_offset_);
  pending_offset_ = 0;
  return true;
}

std::vector<std::string> WriteSnapshot(const Applier& applier,
                                       uint64_t applied_index,
                                       SnapshotWriterOptions options) {
  SnapshotWriter writer(applier, applied_index, options);
  std::vector<std::string> chunks;
  std::string chunk;
  while (writer.Next(&chunk)) chunks.push_back(std::move(chunk));
  return chunks;
}

// ---------------------------------------------------------------------------
// SnapshotReader

SnapshotReader::SnapshotReader(ApplierOptions options)
    : applier_(std::make_unique<Applier>(std::move(options))) {}

absl::Status SnapshotReader::Fail(absl::Status status) {
  CHECK(!status.ok()) << "only an error poisons the reader";
  status_ = status;
  buffer_.clear();
  applier_.reset();
  return status;
}

absl::Status SnapshotReader::Add(std::string_view chunk) {
  CHECK(!finished_) << "no chunk follows Finish";
  if (!status_.ok()) return status_;
  buffer_.append(chunk);
  return Drain();
}

absl::Status SnapshotReader::Drain() {
  size_t at = 0;
  while (buffer_.size() - at >= kRecordHeaderBytes) {
    const std::string_view rest = std::string_view(buffer_).substr(at);
    const uint8_t type = static_cast<uint8_t>(rest[0]);
    const uint32_t length = GetU32(rest, 1);
    if (length > kMaxSnapshotRecordBytes) {
      return Fail(Corrupt(absl::StrCat("record at byte ", consumed_bytes_,
                                       " claims ", length, " bytes")));
    }
    if (rest.size() < kRecordHeaderBytes + length) break;
    const std::string_view record = rest.substr(0, kRecordHeaderBytes + length);
    if (expect_ == Expect::kDone) {
      return Fail(Corrupt(
          absl::StrCat("bytes after the trailer at byte ", consumed_bytes_)));
    }
    if (type != kTrailerRecord) crc_ = base::crc32c::Extend(crc_, record);
    absl::Status s = ApplyRecord(type, record.substr(kRecordHeaderBytes));
    if (!s.ok()) return Fail(s);
    if (type != kTrailerRecord) ++records_;
    consumed_bytes_ += record.size();
    at += record.size();
  }
  if (expect_ == Expect::kDone && buffer_.size() > at) {
    return Fail(Corrupt(
        absl::StrCat("bytes after the trailer at byte ", consumed_bytes_)));
  }
  buffer_.erase(0, at);
  return absl::OkStatus();
}

absl::Status SnapshotReader::ApplyRecord(uint8_t type,
                                         std::string_view payload) {
  const auto unexpected = [&](const char* wanted) {
    return Corrupt(absl::StrCat("record of type ", type, " at byte ",
                                consumed_bytes_, " where ", wanted,
                                " belongs"));
  };
  switch (expect_) {
    case Expect::kHeader:
      if (type != kHeaderRecord) return unexpected("the header");
      return ApplyHeader(payload);
    case Expect::kKvSection:
      if (type != kSectionRecord) return unexpected("the kv section");
      return ApplyKvSection(payload);
    case Expect::kChange:
      if (type != kChangeRecord) return unexpected("a kv change");
      return ApplyChange(payload);
    case Expect::kSection:
      if (next_section_ > LastSection(version_)) {
        if (type != kTrailerRecord) return unexpected("the trailer");
        return ApplyTrailer(payload);
      }
      if (type != kSectionRecord) return unexpected("a section");
      return ApplySection(payload);
    case Expect::kAppliedId:
      if (type != kAppliedIdRecord) return unexpected("an applied id");
      return ApplyAppliedId(payload);
    case Expect::kResult:
      if (type != kResultRecord) return unexpected("a remembered result");
      return ApplyResult(payload);
    case Expect::kLease:
      if (type != kLeaseRecord) return unexpected("a lease");
      return ApplyLease(payload);
    case Expect::kAlarm:
      if (type != kAlarmRecord) return unexpected("an alarm");
      return ApplyAlarm(payload);
    case Expect::kAuthEntry:
      return ApplyAuthEntry(type, payload);
    case Expect::kDone:
      break;
  }
  return unexpected("nothing");
}

absl::Status SnapshotReader::ApplyHeader(std::string_view payload) {
  if (payload.size() != kHeaderPayloadBytes) {
    return Corrupt(absl::StrCat("header of ", payload.size(), " bytes"));
  }
  if (payload.substr(0, kMagic.size()) != kMagic) {
    return Corrupt("bad magic: not a kv snapshot");
  }
  const uint32_t version = GetU32(payload, 8);
  if (version < kMinSnapshotFormatVersion ||
      version > kSnapshotFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "kv snapshot: format version ", version,
        " is not supported (this build reads versions ",
        kMinSnapshotFormatVersion, " to ", kSnapshotFormatVersion, ")"));
  }
  version_ = version;
  applied_index_ = GetU64(payload, 12);
  expect_ = Expect::kKvSection;
  return absl::OkStatus();
}

absl::Status SnapshotReader::ApplyKvSection(std::string_view payload) {
  if (payload.size() != kKvSectionPayloadBytes ||
      static_cast<uint8_t>(payload[0]) != kKvSection) {
    return Corrupt("the kv section header is malformed");
  }
  changes_left_ = GetU64(payload, 1);
  current_revision_ = GetI64(payload, 9);
  compact_revision_ = GetI64(payload, 17);
  next_section_ = kLeaseSection;
  if (changes_left_ > 0) {
    expect_ = Expect::kChange;
    return absl::OkStatus();
  }
  expect_ = Expect::kSection;
  return applier_->store_.FinishRestore(current_revision_, compact_revision_);
}

absl::Status SnapshotReader::ApplyChange(std::string_view payload) {
  if (payload.size() < kChangeFixedBytes) {
    return Corrupt(absl::StrCat("kv change of ", payload.size(), " bytes"));
  }
  const uint8_t flags = static_cast<uint8_t>(payload[0]);
  const Revision rev{GetI64(payload, 1), GetI64(payload, 9)};
  mvccpb::KeyValue kv;
  if (!kv.ParseFromArray(
          payload.data() + kChangeFixedBytes,
          static_cast<int>(payload.size() - kChangeFixedBytes))) {
    return Corrupt(
        absl::StrCat("kv change at revision ", rev.main, " does not parse"));
  }
  if ((flags & ~kTombstoneFlag) != 0 ||
      ((flags & kTombstoneFlag) != 0) != (kv.create_revision() == 0)) {
    return Corrupt(
        absl::StrCat("kv change at revision ", rev.main, " has bad flags"));
  }
  // Which lease each key names; the leases themselves come later.
  applier_->lessor_.RestoreChange(kv);
  if (absl::Status s = applier_->store_.RestoreChange(rev, std::move(kv));
      !s.ok()) {
    return s;
  }
  if (--changes_left_ > 0) return absl::OkStatus();
  expect_ = Expect::kSection;
  return applier_->store_.FinishRestore(current_revision_, compact_revision_);
}

absl::Status SnapshotReader::ApplySection(std::string_view payload) {
  if (payload.size() != kSectionPayloadBytes) {
    return Corrupt(
        absl::StrCat("section header of ", payload.size(), " bytes"));
  }
  const uint8_t id = static_cast<uint8_t>(payload[0]);
  if (id != next_section_) {
    return Corrupt(absl::StrCat("section ", SectionName(id), " where ",
                                SectionName(next_section_), " belongs"));
  }
  const uint64_t entries = GetU64(payload, 1);
  ++next_section_;
  if (id == kAppliedIdsSection) {
    applied_ids_left_ = entries;
    if (entries > 0) expect_ = Expect::kAppliedId;
    return absl::OkStatus();
  }
  if (id == kResultsSection) {
    results_left_ = entries;
    if (entries > 0) expect_ = Expect::kResult;
    return absl::OkStatus();
  }
  if (id == kAuthSection && version_ >= 3) {
    // At least the auth state record.
    if (entries == 0) return Corrupt("the auth section has no state record");
    auth_entries_left_ = entries;
    expect_ = Expect::kAuthEntry;
    return absl::OkStatus();
  }
  // Version 2 has no lease, alarm or auth entries, and restores a fresh
  // auth state.
  if (entries != 0 && version_ < 3) {
    return Corrupt(absl::StrCat("the ", SectionName(id),
                                " section has entries, which version ",
                                version_, " never writes"));
  }
  if (id == kLeaseSection) {
    leases_left_ = entries;
    if (entries > 0) {
      expect_ = Expect::kLease;
      return absl::OkStatus();
    }
    return applier_->lessor_.FinishRestore(
        applier_->options_.bugs.lease_outlives_revoke);
  }
  if (id == kAlarmSection) {
    alarms_left_ = entries;
    if (entries > 0) expect_ = Expect::kAlarm;
  }
  return absl::OkStatus();
}

absl::Status SnapshotReader::ApplyAppliedId(std::string_view payload) {
  if (payload.size() != kAppliedIdPayloadBytes) {
    return Corrupt(absl::StrCat("applied id record of ", payload.size(),
                                " bytes at byte ", consumed_bytes_));
  }
  const uint64_t id = GetU64(payload, 0);
  if (id == 0 || applier_->applied_id_set_.contains(id)) {
    return Corrupt(absl::StrCat("applied id ", id, " at byte ",
                                consumed_bytes_,
                                id == 0 ? " is zero" : " is repeated"));
  }
  // A smaller window than the writer's keeps the newest ids.
  applier_->RememberId(id);
  if (--applied_ids_left_ == 0) expect_ = Expect::kSection;
  return absl::OkStatus();
}

absl::Status SnapshotReader::ApplyResult(std::string_view payload) {
  if (payload.size() < kResultFixedBytes) {
    return Corrupt(absl::StrCat("result record of ", payload.size(),
                                " bytes at byte ", consumed_bytes_));
  }
  RememberedResult r;
  r.id = GetU64(payload, 0);
  r.revision = GetI64(payload, 8);
  const uint32_t code = GetU32(payload, 16);
  const uint32_t message_bytes = GetU32(payload, 20);
  if (r.id == 0 || r.revision < 0 || r.revision > current_revision_ ||
      code > static_cast<uint32_t>(absl::StatusCode::kUnauthenticated) ||
      message_bytes > payload.size() - kResultFixedBytes) {
    return Corrupt(absl::StrCat("malformed result record at byte ",
                                consumed_bytes_));
  }
  const std::string_view message =
      payload.substr(kResultFixedBytes, message_bytes);
  r.status = absl::Status(static_cast<absl::StatusCode>(code),
                          absl::string_view(message.data(), message.size()));
  const std::string_view response =
      payload.substr(kResultFixedBytes + message_bytes);
  kvpb::InternalResponse parsed;
  if ((!r.status.ok() && !response.empty()) ||
      !parsed.ParseFromArray(response.data(),
                             static_cast<int>(response.size()))) {
    return Corrupt(absl::StrCat("result of request ", r.id, " at byte ",
                                consumed_bytes_, " does not parse"));
  }
  r.response = std::string(response);
  // A smaller window than the writer's keeps the newest results.
  applier_->RememberResult(std::move(r));
  if (--results_left_ == 0) expect_ = Expect::kSection;
  return absl::OkStatus();
}

absl::Status SnapshotReader::ApplyLease(std::string_view payload) {
  if (payload.size() != kLeasePayloadBytes) {
    return Corrupt(absl::StrCat("lease record of ", payload.size(),
                                " bytes at byte ", consumed_bytes_));
  }
  if (absl::Status s = applier_->lessor_.RestoreLease(
          GetI64(payload, 0), GetI64(payload, 8), GetI64(payload, 16));
      !s.ok()) {
    return s;
  }
  if (--leases_left_ > 0) return absl::OkStatus();
  expect_ = Expect::kSection;
  // Every lease is in: attach the keys that name them.
  return applier_->lessor_.FinishRestore(
      applier_->options_.bugs.lease_outlives_revoke);
}

absl::Status SnapshotReader::ApplyAlarm(std::string_view payload) {
  if (payload.size() != kAlarmPayloadBytes) {
    return Corrupt(absl::StrCat("alarm record of ", payload.size(),
                                " bytes at byte ", consumed_bytes_));
  }
  if (absl::Status s = applier_->alarms_.Restore(
          GetU64(payload, 0), static_cast<int>(GetU32(payload, 8)));
      !s.ok()) {
    return s;
  }
  if (--alarms_left_ == 0) expect_ = Expect::kSection;
  return absl::OkStatus();
}

absl::Status SnapshotReader::ApplyAuthEntry(uint8_t type,
                                            std::string_view payload) {
  AuthStore& auth = applier_->auth_;
  absl::Status s;
  if (!auth_state_read_) {
    if (type != kAuthStateRecord || payload.size() != kAuthStatePayloadBytes ||
        static_cast<uint8_t>(payload[0]) > 1) {
      return Corrupt(absl::StrCat("bad auth state record at byte ",
                                  consumed_bytes_));
    }
    auth_state_read_ = true;
    s = auth.RestoreBegin(payload[0] == 1, GetU64(payload, 1));
  } else if (type == kAuthUserRecord && !auth_roles_begun_) {
    authpb::User user;
    if (!user.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return Corrupt(absl::StrCat("auth user at byte ", consumed_bytes_,
                                  " does not parse"));
    }
    s = auth.RestoreUser(std::move(user));
  } else if (type == kAuthRoleRecord) {
    auth_roles_begun_ = true;
    authpb::Role role;
    if (!role.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return Corrupt(absl::StrCat("auth role at byte ", consumed_bytes_,
                                  " does not parse"));
    }
    s = auth.RestoreRole(std::move(role));
  } else {
    return Corrupt(absl::StrCat("record of type ", type, " at byte ",
                                consumed_bytes_,
                                " where an auth entry belongs"));
  }
  if (!s.ok()) return s;
  if (--auth_entries_left_ > 0) return absl::OkStatus();
  expect_ = Expect::kSection;
  return auth.RestoreFinish();
}

absl::Status SnapshotReader::ApplyTrailer(std::string_view payload) {
  if (payload.size() != kTrailerPayloadBytes) {
    return Corrupt(absl::StrCat("trailer of ", payload.size(), " bytes"));
  }
  const uint64_t records = GetU64(payload, 0);
  const uint64_t bytes = GetU64(payload, 8);
  const uint32_t crc = GetU32(payload, 16);
  if (records != records_ || bytes != consumed_bytes_) {
    return Corrupt(absl::StrCat("trailer counts ", records, " records in ",
                                bytes, " bytes, the stream has ", records_,
                                " in ", consumed_bytes_));
  }
  if (crc != crc_) {
    return Corrupt(absl::StrCat("checksum mismatch: trailer says ", crc,
                                ", stream has ", crc_));
  }
  expect_ = Expect::kDone;
  return absl::OkStatus();
}

absl::StatusOr<RestoredState> SnapshotReader::Finish() {
  CHECK(!finished_) << "Finish is called once";
  finished_ = true;
  if (!status_.ok()) return status_;
  if (expect_ != Expect::kDone) {
    return Fail(Corrupt(absl::StrCat(
        "truncated after ", consumed_bytes_, " bytes (", records_, " records",
        buffer_.empty() ? "" : " and part of one", ")")));
  }
  applier_->CheckInvariants();
  return RestoredState{std::move(applier_), applied_index_};
}

absl::StatusOr<RestoredState> RestoreSnapshot(
    const std::vector<std::string>& chunks, ApplierOptions options) {
  SnapshotReader reader(std::move(options));
  for (const std::string& chunk : chunks) {
    if (absl::Status s = reader.Add(chunk); !s.ok()) return s;
  }
  return reader.Finish();
}

}  // namespace etcdpp::kv
