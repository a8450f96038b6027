#!/usr/bin/env bash
# Regenerates the hand-written seeds of the fuzz corpora (files named
# seed-*; the rest of each corpus is what fuzz/run.sh merged in). Protos are
# written in text format and encoded with the system protoc, so each seed
# says what it is. Run from anywhere: bash fuzz/seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# raft_message: node 1 leads term 2 with entries 1..4 committed and 5
# unsent; node 2 follows; node 3 pre-campaigns for term 3; node 2' is a
# candidate of term 3 (see raft_message_fuzzer.cc).
raft() {  # raft NAME TEXT
  printf '%s\n' "$2" | protoc -I. --encode=raftpb.Message raft/raft.proto \
    > "fuzz/corpus/raft_message/seed-$1"
}
raft app 'type: MsgApp from: 1 term: 2 index: 4 log_term: 2 commit: 4
  entries { term: 2 index: 5 data: "d" }'
raft app-conflict 'type: MsgApp from: 1 term: 3 index: 3 log_term: 2 commit: 3
  entries { term: 3 index: 4 data: "x" }'
raft app-confchange 'type: MsgApp from: 1 term: 2 index: 4 log_term: 2 commit: 5
  entries { term: 2 index: 5 type: EntryConfChange data: "\020\001\030\003" }'
raft app-confchange-v2 'type: MsgApp from: 1 term: 2 index: 4 log_term: 2 commit: 5
  entries { term: 2 index: 5 type: EntryConfChangeV2 data: "\022\004\010\003\020\004" }'
raft heartbeat 'type: MsgHeartbeat from: 1 term: 2 commit: 4 context: "c"'
raft vote 'type: MsgVote from: 3 term: 3 index: 5 log_term: 2'
raft vote-transfer 'type: MsgVote from: 3 term: 3 index: 5 log_term: 2 context: "CampaignTransfer"'
raft prevote 'type: MsgPreVote from: 3 term: 3 index: 4 log_term: 2'
raft app-resp 'type: MsgAppResp from: 2 term: 2 index: 5'
raft app-resp-reject 'type: MsgAppResp from: 3 term: 2 index: 1 reject: true reject_hint: 0 log_term: 0'
raft snap 'type: MsgSnap from: 1 term: 3
  snapshot { data: "s" metadata { index: 10 term: 3 conf_state { voters: [1, 2, 3] } } }'
raft heartbeat-resp 'type: MsgHeartbeatResp from: 2 term: 2 context: "c"'
raft prop 'type: MsgProp from: 2 entries { data: "x" }'
raft read-index 'type: MsgReadIndex from: 2 entries { data: "ctx" }'
raft read-index-resp 'type: MsgReadIndexResp from: 1 term: 2 index: 4 entries { data: "ctx" }'
raft transfer 'type: MsgTransferLeader from: 2 term: 2'
raft timeout-now 'type: MsgTimeoutNow from: 1 term: 2'
raft vote-resp 'type: MsgVoteResp from: 1 term: 3'
raft prevote-resp 'type: MsgPreVoteResp from: 1 term: 3'
raft higher-term-app-resp 'type: MsgAppResp from: 2 term: 9 index: 5'

# wal_recovery: binary, see wal_recovery_fuzzer.cc. Byte 0 is the mode
# (0: build a WAL then damage it, 2: raw segment, 3: header + raw), then
# segment size step, batch count, one shape byte per batch, then damage
# ops: kind, file, offset u16 little-endian, argument.
wal() {  # wal NAME PRINTF-FORMAT
  printf "$2" > "fuzz/corpus/wal_recovery/seed-$1"
}
wal clean           '\x00\x00\x08\x00\x04\x18\x84\x20\x90\x34\x08\x0c'
wal clean-overwrite '\x00\x02\x0c\x04\x04\x04\x04\x81\x04\x82\x04\x04\x83\x04\x04'
wal flip            '\x00\x00\x08\x00\x04\x18\x84\x20\x90\x34\x08\x0c\x00\x01\x50\x00\x01'
wal flip-header     '\x00\x00\x08\x00\x04\x18\x84\x20\x90\x34\x08\x0c\x00\x01\x03\x00\x80'
wal flip-member     '\x00\x00\x08\x00\x04\x18\x84\x20\x90\x34\x08\x0c\x00\x00\x10\x00\x01'
wal zero            '\x00\x00\x08\x00\x04\x18\x84\x20\x90\x34\x08\x0c\x01\x01\x60\x00\x40\x00'
wal truncate        '\x00\x00\x08\x00\x04\x18\x84\x20\x90\x34\x08\x0c\x02\x02\x90\x00'
wal garbage         '\x00\x00\x08\x00\x04\x18\x84\x20\x90\x34\x08\x0c\x03\x02\x80\x00\x08ABCDEFGH'
wal append          '\x00\x00\x08\x00\x04\x18\x84\x20\x90\x34\x08\x0c\x04\x02\x00\x00\x04WXYZ'
wal remove          '\x00\x00\x10\x30\x34\x38\x3c\x30\x34\x38\x3c\x30\x34\x38\x3c\x30\x34\x38\x3c\x05\x02\x00\x00'
wal raw             '\x02ETCDPPWL\x01\x00\x00\x00'
wal header-raw      '\x03\x10\x00\x00\x00\x00\x00\x00\x00\x04'

# kv_apply: InternalRequests in text format; several in one file are
# joined by the fuzzer's separator. The store holds a, foo, foo/bar at
# revision 7, compacted at 2 (see kv_apply_fuzzer.cc).
kv() {  # kv NAME TEXT [TEXT...]
  local name=$1 first=1
  shift
  : > "fuzz/corpus/kv_apply/seed-$name"
  for text in "$@"; do
    [ $first = 1 ] || printf '\xE7\xF0\x9F\xA9' >> "fuzz/corpus/kv_apply/seed-$name"
    first=0
    printf '%s\n' "$text" | protoc -I. --encode=kvpb.InternalRequest kv/request.proto \
      >> "fuzz/corpus/kv_apply/seed-$name"
  done
}
kv put 'put { key: "k" value: "v" prev_kv: true }'
kv put-ignore 'put { key: "a" ignore_value: true ignore_lease: true }'
kv range-all 'range { key: "\000" range_end: "\000" sort_order: DESCEND sort_target: MOD limit: 2 }'
kv range-old 'range { key: "a" revision: 3 }'
kv range-compacted 'range { key: "a" revision: 1 }'
kv range-count 'range { key: "foo" range_end: "fop" count_only: true }'
kv delete-prefix 'delete_range { key: "foo" range_end: "fop" prev_kv: true }'
kv compact 'compaction { revision: 5 }'
kv compact-future 'compaction { revision: 99 }'
kv txn 'txn { compare { key: "a" target: VALUE result: EQUAL value: "5" }
  compare { key: "foo" range_end: "fop" target: MOD result: GREATER mod_revision: 1 }
  success { request_put { key: "a" value: "6" } }
  success { request_range { key: "a" } }
  failure { request_delete_range { key: "a" } } }'
kv txn-nested 'txn { success { request_txn { compare { key: "x" target: VERSION result: LESS version: 1 }
  success { request_put { key: "x" value: "y" } } } } }'
kv txn-dup 'txn { success { request_put { key: "a" value: "1" } } success { request_put { key: "a" value: "2" } } }'
kv sequence 'put { key: "s" value: "1" }' 'put { key: "s" value: "2" }' \
  'delete_range { key: "s" }' 'compaction { revision: 9 }' 'range { key: "s" revision: 8 }'
kv lease 'lease_grant { TTL: 10 ID: 7 }'
kv empty ''
kv auth-enable 'auth_user_add { name: "root" hashedPassword: "h" }' \
  'auth_user_grant_role { user: "root" role: "root" }' \
  'auth_role_add { name: "r" }' \
  'auth_role_grant_permission { name: "r" perm { permType: READWRITE key: "a" range_end: "b" } }' \
  'auth_user_add { name: "u" hashedPassword: "h" }' \
  'auth_user_grant_role { user: "u" role: "r" }' \
  'auth_enable { }' \
  'header { username: "u" auth_revision: 7 } put { key: "a" value: "1" }' \
  'header { username: "u" auth_revision: 7 } put { key: "z" value: "1" }' \
  'header { username: "u" auth_revision: 7 } txn { success { request_txn { success { request_range { key: "foo" } } } } }' \
  'authenticate { name: "u" simple_token: "t.1" }' \
  'header { username: "root" auth_revision: 7 } auth_disable { }'
kv auth-manage 'auth_role_add { name: "r" }' 'auth_user_add { name: "cn" options { no_password: true } }' \
  'auth_user_grant_role { user: "cn" role: "r" }' 'auth_role_get { role: "r" }' \
  'auth_role_revoke_permission { role: "r" key: "a" }' 'auth_user_revoke_role { name: "cn" role: "r" }' \
  'auth_role_delete { role: "r" }' 'auth_user_list { }' 'auth_status { }'

# http_request: the first byte picks the size of the pieces the second
# reading takes; the rest is what a client sends.
http() {  # http NAME PIECE-BYTE TEXT (printf escapes)
  printf "$2$3" > "fuzz/corpus/http_request/seed-$1"
}
http get '\003' 'GET /health?exclude=NOSPACE HTTP/1.1\r\nHost: a\r\n\r\n'
http pipelined '\005' 'POST /v3/kv/put HTTP/1.1\r\nContent-Length: 29\r\n\r\n{"key":"Zm9v","value":"YmFy"}GET / HTTP/1.0\r\n\r\n'
http chunked '\001' 'POST /v3/watch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\n{"a"\r\n2\r\n:1\r\n0\r\nT: v\r\n\r\n'
http h2 '\007' 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
