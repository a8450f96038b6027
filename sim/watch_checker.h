// The watch checker: what watch clients received (sim/watchers.h) against
// the whole history of the store -- the change log's uncompacted rebuild
// (sim/change_log.h), or the final store of a converged member when the
// log lacks a revision -- which is the linearized order of every write.
//
// For each watch client, over all its sessions in the order received: the
// events must be exactly the store's changes in the watched range from the
// first revision the client covered up to the last revision it received,
// or further when its stream was complete further at the end (see
// WatchLog::complete_through) --
// so revisions never go back (the changes of one revision in the order the
// transaction made them), no event is received twice, none is missing
// between two received ones or across a reconnect, and each equals the
// stored change (key, type, value, revisions, lease). The one exception: a
// watch canceled by compaction loses the changes it still needed up to the
// compact revision (WatchLog::lost); those it did not receive are not owed.
//
// And every write the workload was told succeeded is in that history at
// the revision of its reply.
#ifndef ETCDPP_SIM_WATCH_CHECKER_H_
#define ETCDPP_SIM_WATCH_CHECKER_H_

#include <string>
#include <vector>

#include "kv/mvcc_store.h"
#include "sim/history.h"
#include "sim/watchers.h"

namespace etcdpp::sim {

// Violations, one line each.
std::vector<std::string> CheckWatches(const std::vector<WatchLog>& logs,
                                      const kv::MvccStore& store);
std::vector<std::string> CheckWritesInStore(const History& history,
                                            const kv::MvccStore& store);
// Every read told OK (gets, serializable ones included, and ranges) saw
// the final store's state at the revision its reply names: a member serves
// a prefix of the one order of writes, never a state of its own --
// sequential consistency per member for serializable reads.
std::vector<std::string> CheckReadsAtRevision(const History& history,
                                              const kv::MvccStore& store);

}  // namespace etcdpp::sim

#endif  // ETCDPP_SIM_WATCH_CHECKER_H_
