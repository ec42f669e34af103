// Kafka sources and sinks over librdkafka's C API (stream.h). Vendor types
// stay in this file.
//
// At-least-once: the sink is an idempotent producer (acks=all) whose Flush()
// waits for every delivery report; the source is a group consumer with
// auto-commit off that commits, per partition, the offset after the last
// record marked Done(), and only after the pre-commit hook has flushed the
// outputs (also when partitions are revoked in a rebalance). Newly assigned
// partitions are announced to the program (Source::set_on_assign) before
// any of their records is returned, so it can reload per-key state.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "stockwatch/core/error.h"
#include "stockwatch/core/log.h"
#include "stockwatch/core/signals.h"
#include "stockwatch/core/strings.h"
#include "stockwatch/ops/metrics.h"
#include "stockwatch/ops/service.h"
#include "stockwatch/stream/stream.h"

namespace stockwatch {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPollMs = 100;
// How long an input that ran dry waits for more before it counts as idle
// (and commits): fetched records arrive in bursts, so a stream that is
// still flowing is committed at its checkpoints, not after every burst.
constexpr int kIdleGraceMs = 10;
constexpr int kDestroyFlushMs = 10000;
// How long the consumer waits for its group's committed offsets (once per
// assignment, for the lag metric).
constexpr int kAskStartMs = 2000;

// Forwards librdkafka's own log lines (called from its threads) to log::.
void LogCallback(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  const char* name = rk != nullptr ? rd_kafka_name(rk) : "kafka";
  // FAIL repeats what the error callback reports (once, rate-limited);
  // CONFWARN is about a property meant for the other client type (-X is
  // shared by a program's consumer and producer): both are expected noise.
  bool noise = std::strcmp(fac, "FAIL") == 0 || std::strcmp(fac, "CONFWARN") == 0;
  if (level <= 4 && !noise) {
    log::Warn("kafka: {}: {}", name, buf);
  } else if (level <= 4) {
    log::Info("kafka: {}: {}", name, buf);
  } else {
    log::Debug("kafka: {}: {}: {}", name, fac, buf);
  }
}

// Owns an rd_kafka_conf_t until rd_kafka_new() takes it.
class Conf {
 public:
  Conf() : conf_(rd_kafka_conf_new()) {}
  ~Conf() {
    if (conf_ != nullptr) rd_kafka_conf_destroy(conf_);
  }
  Conf(const Conf&) = delete;
  Conf& operator=(const Conf&) = delete;

  rd_kafka_conf_t* get() { return conf_; }
  rd_kafka_conf_t* release() { return std::exchange(conf_, nullptr); }

  /// Sets a property; returns librdkafka's message on failure, "" on success.
  std::string TrySet(const std::string& key, const std::string& value) {
    char err[512];
    if (rd_kafka_conf_set(conf_, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return err;
    }
    return {};
  }
  /// Sets a property we choose ourselves: a failure is a bug.
  void Set(const std::string& key, const std::string& value) {
    std::string err = TrySet(key, value);
    if (!err.empty()) throw Error(exitcode::kSoftware, "kafka: " + key + ": " + err);
  }
  std::string Get(const char* key) {
    char buf[1024];
    size_t size = sizeof buf;
    if (rd_kafka_conf_get(conf_, key, buf, &size) != RD_KAFKA_CONF_OK) return {};
    return buf;
  }

 private:
  rd_kafka_conf_t* conf_;
};

// Applies -F FILE (key=value lines, # comments) then -X key=value.
void ApplyUserProperties(Conf& conf, const StreamOptions& opts) {
  if (!opts.kafka_config_file.empty()) {
    const std::string& path = opts.kafka_config_file;
    std::ifstream in(path);
    if (!in) {
      throw Error(exitcode::kConfig, path + ": cannot read: " + std::strerror(errno));
    }
    std::string line;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
      std::string_view s = Trim(line);
      if (s.empty() || s.front() == '#') continue;
      size_t eq = s.find('=');
      std::string where = path + ":" + std::to_string(lineno) + ": ";
      if (eq == std::string_view::npos || Trim(s.substr(0, eq)).empty()) {
        throw Error(exitcode::kConfig,
                    where + "expected key=value, got \"" + std::string(s) + "\"");
      }
      std::string err =
          conf.TrySet(std::string(Trim(s.substr(0, eq))), std::string(Trim(s.substr(eq + 1))));
      if (!err.empty()) throw Error(exitcode::kConfig, where + err);
    }
    if (in.bad()) throw Error(exitcode::kConfig, path + ": read error");
  }
  for (const std::string& prop : opts.kafka_props) {
    size_t eq = prop.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error(exitcode::kConfig, "-X " + prop + ": expected key=value");
    }
    std::string err = conf.TrySet(prop.substr(0, eq), prop.substr(eq + 1));
    if (!err.empty()) throw Error(exitcode::kConfig, "-X " + prop + ": " + err);
  }
}

// The settings both client types share: our defaults, brokers, then the
// user's -F and -X (which may override them).
void Configure(Conf& conf, const StreamOptions& opts, const std::string& topic, void* opaque) {
  conf.Set("client.id", opts.program.empty() ? "stockwatch" : opts.program);
  if (!opts.brokers.empty()) conf.Set("bootstrap.servers", opts.brokers);
  rd_kafka_conf_set_log_cb(conf.get(), LogCallback);
  rd_kafka_conf_set_opaque(conf.get(), opaque);
  ApplyUserProperties(conf, opts);
  if (conf.Get("bootstrap.servers").empty()) {
    throw Error(exitcode::kUsage, "kafka:" + topic + " needs --brokers or STOCKWATCH_BROKERS");
  }
}

rd_kafka_t* NewClient(rd_kafka_type_t type, Conf& conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (rk == nullptr) throw Error(exitcode::kConfig, std::string("kafka: ") + err);
  conf.release();  // owned by rk now
  return rk;
}

// Reports an error code at most every 10 s: librdkafka repeats transport
// errors on every reconnect attempt, each time with a slightly different text.
class WarnLimiter {
 public:
  void Warn(rd_kafka_resp_err_t code, const std::string& what) {
    Clock::time_point now = Clock::now();
    auto it = last_.find(code);
    if (it != last_.end() && now - it->second < std::chrono::seconds(10)) return;
    last_[code] = now;
    log::Warn("{}", what);
  }

 private:
  std::map<rd_kafka_resp_err_t, Clock::time_point> last_;
};

// A commit refused because the group is rebalancing: expected (the
// records are read again by whoever gets the partition).
bool IsRebalanceError(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
         err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID;
}

void LogCommitFailure(const std::string& name, rd_kafka_resp_err_t err, const char* when) {
  if (IsRebalanceError(err)) {
    log::Info("{}: commit{} skipped: {} (those records will be read again)", name, when,
              rd_kafka_err2str(err));
  } else {
    log::Warn("{}: commit{} failed: {} (those records will be read again)", name, when,
              rd_kafka_err2str(err));
  }
}

bool IsTransportError(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
         err == RD_KAFKA_RESP_ERR__RESOLVE || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
         err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT;
}

std::string FatalReason(rd_kafka_t* rk, const char* fallback) {
  char buf[512];
  if (rd_kafka_fatal_error(rk, buf, sizeof buf) != RD_KAFKA_RESP_ERR_NO_ERROR) return buf;
  return fallback;
}

// ---------------------------------------------------------------- sink

class KafkaSink final : public Sink {
 public:
  KafkaSink(const StreamOptions& opts, const std::string& topic) : name_("kafka:" + topic) {
    Conf conf;
    conf.Set("enable.idempotence", "true");
    conf.Set("acks", "all");
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaSink::OnDelivery);
    rd_kafka_conf_set_error_cb(conf.get(), &KafkaSink::OnError);
    Configure(conf, opts, topic, this);
    rk_ = NewClient(RD_KAFKA_PRODUCER, conf);
    rkt_ = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
    if (rkt_ == nullptr) {
      std::string err = rd_kafka_err2str(rd_kafka_last_error());
      rd_kafka_destroy(rk_);
      throw Error(exitcode::kConfig, name_ + ": " + err);
    }
  }

  ~KafkaSink() override {
    // Best effort: a caller that cared has called Flush() and seen its errors.
    // After a stop request, no longer than what is left of its grace.
    rd_kafka_flush(rk_, static_cast<int>(std::min<int64_t>(kDestroyFlushMs, StopGraceLeftMs())));
    int left = rd_kafka_outq_len(rk_);
    if (left > 0) {
      log::Warn("{}: {} record(s) not delivered at exit", name_, left);
      rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(rk_, 0);
    }
    rd_kafka_topic_destroy(rkt_);
    rd_kafka_destroy(rk_);
  }

  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  void Write(std::string_view key, std::string_view value) override {
    ThrowIfFailed();
    for (;;) {
      // F_COPY: the caller's buffers are reused as soon as we return.
      int rc = rd_kafka_produce(rkt_, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                const_cast<char*>(value.data()), value.size(),
                                key.empty() ? nullptr : key.data(), key.size(), nullptr);
      if (rc == 0) {
        ++unacked_;
        break;
      }
      rd_kafka_resp_err_t err = rd_kafka_last_error();
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        // Back-pressure: serve delivery reports until there is room.
        ThrowIfStopTimedOut();
        rd_kafka_poll(rk_, kPollMs);
        ThrowIfFailed();
        continue;
      }
      if (err == RD_KAFKA_RESP_ERR__FATAL) {
        throw Error(exitcode::kUnavailable, name_ + ": " + FatalReason(rk_, "fatal error"));
      }
      throw Error(exitcode::kIoErr, name_ + ": cannot produce: " + rd_kafka_err2str(err));
    }
    // Serve delivery reports now and then so failures surface early and
    // the report queue stays short.
    if (++since_poll_ >= 1024) {
      since_poll_ = 0;
      rd_kafka_poll(rk_, 0);
    }
  }

  void Flush() override {
    Clock::time_point start = Clock::now();
    bool warned = false;
    while (rd_kafka_outq_len(rk_) > 0) {
      // A stop waits for the brokers' acknowledgements no longer than its
      // grace (--stop-timeout), not for message.timeout.ms (5 min).
      ThrowIfStopTimedOut();
      rd_kafka_flush(rk_, static_cast<int>(std::min<int64_t>(1000, StopGraceLeftMs())));
      if (failed_) break;
      if (!warned && Clock::now() - start > std::chrono::seconds(10)) {
        warned = true;
        log::Warn("{}: still waiting for {} delivery report(s)", name_, rd_kafka_outq_len(rk_));
      }
    }
    rd_kafka_poll(rk_, 0);
    ThrowIfFailed();
  }

  const std::string& name() const override { return name_; }

 private:
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    if (self->unacked_ > 0) --self->unacked_;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR && !self->failed_) {
      self->failed_ = true;
      self->failure_ = rd_kafka_err2str(msg->err);
    }
  }

  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    auto code = static_cast<rd_kafka_resp_err_t>(err);
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
      if (!self->failed_) {
        self->failed_ = true;
        self->failure_ = FatalReason(rk, reason);
      }
      return;
    }
    self->warn_.Warn(code,
                     self->name_ + ": " + reason + (IsTransportError(code) ? " (retrying)" : ""));
  }

  void ThrowIfFailed() {
    if (failed_) throw Error(exitcode::kUnavailable, name_ + ": delivery failed: " + failure_);
  }

  void ThrowIfStopTimedOut() {
    if (!StopRequested() || StopGraceLeftMs() > 0) return;
    rd_kafka_poll(rk_, 0);  // reports already in
    if (unacked_ == 0) return;
    throw Error(exitcode::kTempFail,
                name_ + ": " + StoppedBy() + " with " + std::to_string(unacked_) +
                    " record(s) not acknowledged by the brokers within --stop-timeout (" +
                    std::to_string(StopTimeoutMs()) + " ms)");
  }

  std::string name_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_topic_t* rkt_ = nullptr;
  bool failed_ = false;
  std::string failure_;
  unsigned since_poll_ = 0;
  uint64_t unacked_ = 0;  // produced, no delivery report yet
  WarnLimiter warn_;
};

// ---------------------------------------------------------------- source

// "0,2,3" (or "none"), for the rebalance log lines.
std::string PartitionIds(const rd_kafka_topic_partition_list_t* partitions) {
  std::string s;
  for (int i = 0; i < partitions->cnt; ++i) {
    if (!s.empty()) s += ',';
    s += std::to_string(partitions->elems[i].partition);
  }
  return s.empty() ? "none" : s;
}

// Owns an rd_kafka_topic_partition_list_t.
class PartitionList {
 public:
  explicit PartitionList(int size) : list_(rd_kafka_topic_partition_list_new(size)) {}
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list_); }
  PartitionList(const PartitionList&) = delete;
  PartitionList& operator=(const PartitionList&) = delete;
  rd_kafka_topic_partition_list_t* get() { return list_; }

 private:
  rd_kafka_topic_partition_list_t* list_;
};

class KafkaSource final : public Source {
 public:
  KafkaSource(const StreamOptions& opts, const std::string& topic)
      : topic_(topic),
        name_("kafka:" + topic),
        exit_at_eof_(opts.exit_at_eof),
        broker_wait_ms_(opts.broker_wait_ms),
        started_(Clock::now()) {
    Conf conf;
    std::string group = !opts.group.empty()     ? opts.group
                        : !opts.program.empty() ? opts.program
                                                : "stockwatch";
    conf.Set("group.id", group);
    conf.Set("enable.auto.commit", "false");
    conf.Set("auto.offset.reset", "earliest");
    conf.Set("enable.partition.eof", "true");
    // librdkafka 2.0 stops fetching for a whole second whenever its local
    // queue holds queued.min.messages (100000 by default, all partitions
    // together; librdkafka #2879), so a consumer catching up on a backlog
    // mostly waited. Prefetch is still bounded by queued.max.messages.kbytes
    // (64 MB of records); -X overrides both.
    conf.Set("queued.min.messages", "1000000");
    rd_kafka_conf_set_rebalance_cb(conf.get(), &KafkaSource::OnRebalance);
    rd_kafka_conf_set_offset_commit_cb(conf.get(), &KafkaSource::OnCommitted);
    rd_kafka_conf_set_error_cb(conf.get(), &KafkaSource::OnError);
    Configure(conf, opts, topic, this);
    brokers_ = conf.Get("bootstrap.servers");
    rk_ = NewClient(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(rk_);

    PartitionList topics(1);
    rd_kafka_topic_partition_list_add(topics.get(), topic_.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, topics.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_destroy(rk_);
      throw Error(exitcode::kUnavailable, name_ + ": cannot subscribe: " + rd_kafka_err2str(err));
    }
    log::Debug("{}: consuming in group {}", name_, group);
  }

  ~KafkaSource() override {
    ReleaseMessage();
    // The outputs may already be gone: revocations during close must not
    // run the pre-commit hook (so they commit nothing; the caller's last
    // Commit(true) did that).
    closing_ = true;
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log::Warn("{}: closing the consumer: {}", name_, rd_kafka_err2str(err));
    }
    rd_kafka_destroy(rk_);
  }

  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  bool Next(InRecord& rec) override {
    ReleaseMessage();
    int empty = 0;  // polls in a row that found nothing
    for (;;) {
      if (StopRequested()) return false;
      if (exit_at_eof_ && AllAtEof()) {
        log::Debug("{}: every assigned partition is at its end", name_);
        return false;
      }
      if (empty >= 2) {
        if (idle_) idle_();
        RetryCommits();
      }
      int wait = empty == 0 ? 0 : empty == 1 ? kIdleGraceMs : kPollMs;
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk_, wait);
      if (pending_ && msg != nullptr) rd_kafka_message_destroy(msg);
      RethrowPending();
      if (msg == nullptr) {
        ++empty;
        CheckBrokerAnswered();
        continue;
      }
      answered_ = true;  // a record, or an error of a partition: someone answered
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        HandleError(msg);
        rd_kafka_message_destroy(msg);
        continue;
      }
      auto it = parts_.find(msg->partition);
      if (it == parts_.end()) {
        // Fetched before a revocation we already processed: another member
        // owns it now.
        rd_kafka_message_destroy(msg);
        continue;
      }
      it->second.eof = false;
      msg_ = msg;
      if (!first_seen_) {
        first_seen_ = true;
        log::Info("{}: first record {} ms after the assignment", name_,
                  std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - assigned_at_)
                      .count());
      }
      rec.value = std::string_view(static_cast<const char*>(msg->payload), msg->len);
      rec.readable = msg->len;
      rec.key = msg->key != nullptr
                    ? std::string_view(static_cast<const char*>(msg->key), msg->key_len)
                    : std::string_view();
      rec.input = &PartitionName(msg->partition);
      rec.line = static_cast<uint64_t>(msg->offset);
      return true;
    }
  }

  void Done() override {
    if (msg_ == nullptr) return;
    auto it = parts_.find(msg_->partition);
    if (it == parts_.end()) return;  // revoked meanwhile: not ours to commit
    it->second.done = std::max(it->second.done, msg_->offset + 1);
  }

  void Commit(bool sync) override {
    if (pre_commit_) pre_commit_();
    PublishLag();
    PartitionList offsets(static_cast<int>(parts_.size()));
    for (auto& [partition, st] : parts_) {
      st.durable = st.done;
      // A synchronous commit resends offsets an asynchronous one may still
      // be carrying, so that it alone is enough at shutdown.
      if (st.done < 0 || (!sync && st.done == st.committed)) continue;
      rd_kafka_topic_partition_list_add(offsets.get(), topic_.c_str(), partition)->offset = st.done;
      st.committed = st.done;
    }
    if (offsets.get()->cnt == 0) return;
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_, offsets.get(), sync ? 0 : 1);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      throw Error(exitcode::kUnavailable, name_ + ": " + FatalReason(rk_, "fatal error"));
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      // The records will be consumed again: at-least-once still holds.
      LogCommitFailure(name_, err, "");
      ForgetCommitted(offsets.get());
    } else if (sync) {
      log::Debug("{}: committed {} partition(s)", name_, offsets.get()->cnt);
    }
  }

  const std::string& name() const override { return name_; }
  bool WaitsForAssignment() const override { return true; }

 private:
  struct PartState {
    bool eof = false;
    int64_t done = -1;       // offset after the last record marked Done()
    int64_t committed = -1;  // last offset sent in a commit (-1 again if it failed)
    int64_t durable = -1;    // `done` when the pre-commit hook last returned
    int64_t end = -1;        // the offset at which it was last found at its end (EOF)
    // Where this member started on it: the group's committed offset, or the
    // log start without one (kNoStart: not known yet; asked by PublishLag).
    int64_t start = kNoStart;
  };
  static constexpr int64_t kNoStart = -2;

  const std::string& PartitionName(int32_t partition) {
    auto it = names_.find(partition);
    if (it == names_.end()) {
      it = names_.emplace(partition, name_ + "/" + std::to_string(partition)).first;
    }
    return it->second;
  }

  bool AllAtEof() const {
    if (parts_.empty()) return false;
    for (const auto& [partition, st] : parts_) {
      if (!st.eof) return false;
    }
    return true;
  }

  // librdkafka retries unreachable brokers forever: when none has ever
  // answered (no cluster metadata, no assignment, no record) within
  // --broker-wait, the brokers are taken to be down (69), as a source
  // that never answers is.
  void CheckBrokerAnswered() {
    if (answered_ || broker_wait_ms_ <= 0) return;
    if (rd_kafka_controllerid(rk_, 0) >= 0 || !parts_.empty()) {
      answered_ = true;
      return;
    }
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
    if (waited.count() < broker_wait_ms_) return;
    throw Error(exitcode::kUnavailable, name_ +
                                            ": no Kafka broker answered within --broker-wait (" +
                                            std::to_string(broker_wait_ms_) + " ms): " + brokers_);
  }

  void ReleaseMessage() {
    if (msg_ != nullptr) rd_kafka_message_destroy(msg_);
    msg_ = nullptr;
  }

  void RethrowPending() {
    if (pending_) std::rethrow_exception(std::exchange(pending_, nullptr));
  }

  void HandleError(const rd_kafka_message_t* msg) {
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      auto it = parts_.find(msg->partition);
      if (it != parts_.end()) {
        it->second.eof = true;
        it->second.end = msg->offset;
      }
      return;
    }
    std::string what = rd_kafka_message_errstr(msg);
    if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
      throw Error(exitcode::kUnavailable, name_ + ": " + FatalReason(rk_, what.c_str()));
    }
    if (exit_at_eof_ && (msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                         msg->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)) {
      // Reading a topic "to its end" that does not exist: like a missing file.
      throw Error(exitcode::kNoInput, name_ + ": " + what);
    }
    if (msg->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
        msg->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED) {
      throw Error(exitcode::kNoPerm, name_ + ": " + what);
    }
    warn_.Warn(msg->err, name_ + ": " + what + (IsTransportError(msg->err) ? " (retrying)" : ""));
  }

  // A commit that failed (refused during a rebalance, say) is otherwise only
  // sent again with the next records' commit: while the input is idle,
  // send the offsets whose outputs are known durable again, once a second.
  void RetryCommits() {
    Clock::time_point now = Clock::now();
    if (now - last_retry_ < std::chrono::seconds(1)) return;
    PartitionList offsets(static_cast<int>(parts_.size()));
    for (auto& [partition, st] : parts_) {
      if (st.durable < 0 || st.durable == st.committed) continue;
      rd_kafka_topic_partition_list_add(offsets.get(), topic_.c_str(), partition)->offset =
          st.durable;
      st.committed = st.durable;
    }
    if (offsets.get()->cnt == 0) return;
    last_retry_ = now;
    log::Debug("{}: committing {} partition(s) again", name_, offsets.get()->cnt);
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_, offsets.get(), 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      LogCommitFailure(name_, err, "");
      ForgetCommitted(offsets.get());
    }
  }

  /// Consumer lag per partition for the metrics: the fetched high watermark
  /// minus the offset up to which the group is done with it (what this
  /// member processed, else where it found the partition's end, else the
  /// offset it started from: the group's commit, or the log start).
  void PublishLag() {
    AskStartOffsets();
    for (auto& [partition, st] : parts_) {
      int64_t lo = 0, hi = -1;
      if (rd_kafka_get_watermark_offsets(rk_, topic_.c_str(), partition, &lo, &hi) !=
              RD_KAFKA_RESP_ERR_NO_ERROR ||
          hi < 0)
        continue;
      int64_t at = std::max(st.done, st.end);
      if (at < 0) {
        if (st.start == kNoStart) continue;  // not known (yet): no guess
        at = st.start >= 0 ? st.start : lo;
      }
      LagGauge(partition).Set(static_cast<double>(std::max<int64_t>(0, hi - at)));
    }
  }

  metrics::Gauge& LagGauge(int32_t partition) {
    return metrics::Default().gauge("stockwatch_consumer_lag",
                                    "Records not yet processed, by topic and partition",
                                    {{"topic", topic_}, {"partition", std::to_string(partition)}});
  }

  /// The group's committed offsets of the partitions this member has not
  /// yet read from (nor found at their end), asked once per assignment (a
  /// failure is asked again after a while): without them a restarted
  /// member's lag would count what earlier runs processed.
  void AskStartOffsets() {
    PartitionList ask(static_cast<int>(parts_.size()));
    for (const auto& [partition, st] : parts_) {
      if (st.start == kNoStart && st.done < 0 && st.end < 0)
        rd_kafka_topic_partition_list_add(ask.get(), topic_.c_str(), partition);
    }
    if (ask.get()->cnt == 0) return;
    Clock::time_point now = Clock::now();
    if (asked_start_ != Clock::time_point{} && now - asked_start_ < std::chrono::seconds(5)) return;
    asked_start_ = now;
    if (rd_kafka_committed(rk_, ask.get(), kAskStartMs) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
    for (int i = 0; i < ask.get()->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = ask.get()->elems[i];
      auto it = parts_.find(p.partition);
      if (it == parts_.end() || p.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      it->second.start = p.offset >= 0 ? p.offset : -1;  // -1: no commit, from the log start
    }
  }

  void ForgetCommitted(const rd_kafka_topic_partition_list_t* offsets) {
    for (int i = 0; i < offsets->cnt; ++i) {
      auto it = parts_.find(offsets->elems[i].partition);
      if (it != parts_.end() && it->second.committed == offsets->elems[i].offset) {
        it->second.committed = -1;
      }
    }
  }

  void Assign(rd_kafka_topic_partition_list_t* partitions, bool cooperative) {
    const bool owned_before = !parts_.empty();
    for (int i = 0; i < partitions->cnt; ++i) {
      parts_[partitions->elems[i].partition] = PartState{};
    }
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_, partitions)) {
        log::Warn("{}: assign: {}", name_, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_resp_err_t err = rd_kafka_assign(rk_, partitions);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log::Warn("{}: assign: {}", name_, rd_kafka_err2str(err));
      }
    }
    log::Info("{}: assigned partition(s) {}", name_, PartitionIds(partitions));
    if (partitions->cnt > 0) {
      assigned_at_ = Clock::now();
      asked_start_ = {};
      first_seen_ = false;
    }
    service::Ready();
    // Their messages are fetched now but only returned by a later poll,
    // so the program reloads its per-key state before it sees any of them.
    if (on_assign_ && partitions->cnt > 0 && !closing_) {
      try {
        // Partitions kept through a cooperative rebalance: make their state
        // durable first, so that a reload from the store loses nothing.
        if (owned_before && pre_commit_) pre_commit_();
        on_assign_();
      } catch (...) {
        // As in Revoke(): never through librdkafka's C frames.
        if (!pending_) pending_ = std::current_exception();
      }
    }
  }

  void Revoke(rd_kafka_topic_partition_list_t* partitions, bool cooperative) {
    // Commit what we finished on these partitions before another member
    // starts on them, but only once their outputs are durable.
    if (!closing_ && !rd_kafka_assignment_lost(rk_)) {
      try {
        if (pre_commit_) pre_commit_();
        PartitionList offsets(partitions->cnt);
        for (int i = 0; i < partitions->cnt; ++i) {
          auto it = parts_.find(partitions->elems[i].partition);
          if (it == parts_.end() || it->second.done < 0) continue;
          rd_kafka_topic_partition_list_add(offsets.get(), topic_.c_str(), it->first)->offset =
              it->second.done;
        }
        if (offsets.get()->cnt > 0) {
          rd_kafka_resp_err_t err = rd_kafka_commit(rk_, offsets.get(), 0);
          if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
            LogCommitFailure(name_, err, " on revoke");
          }
        }
      } catch (...) {
        // Thrown through librdkafka's C frames would be undefined: keep it
        // for Next() to rethrow.
        if (!pending_) pending_ = std::current_exception();
      }
    }
    for (int i = 0; i < partitions->cnt; ++i) {
      parts_.erase(partitions->elems[i].partition);
      // Another member reports its lag now (a closing consumer keeps its
      // last values for the final metrics).
      if (!closing_) {
        metrics::Default().Remove(
            "stockwatch_consumer_lag",
            {{"topic", topic_}, {"partition", std::to_string(partitions->elems[i].partition)}});
      }
    }
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, partitions)) {
        log::Warn("{}: unassign: {}", name_, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      parts_.clear();
      rd_kafka_assign(rk_, nullptr);
    }
    log::Info("{}: revoked partition(s) {}", name_, PartitionIds(partitions));
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<KafkaSource*>(opaque);
    bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      self->Assign(partitions, cooperative);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      self->Revoke(partitions, cooperative);
    } else {
      log::Warn("{}: rebalance: {}", self->name_, rd_kafka_err2str(err));
      self->parts_.clear();
      rd_kafka_assign(rk, nullptr);
    }
  }

  static void OnCommitted(rd_kafka_t*, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* self = static_cast<KafkaSource*>(opaque);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
    LogCommitFailure(self->name_, err, "");
    // Let the next Commit() send these offsets again.
    if (offsets != nullptr) self->ForgetCommitted(offsets);
  }

  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaSource*>(opaque);
    auto code = static_cast<rd_kafka_resp_err_t>(err);
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
      if (!self->pending_) {
        self->pending_ = std::make_exception_ptr(
            Error(exitcode::kUnavailable, self->name_ + ": " + FatalReason(rk, reason)));
      }
      return;
    }
    self->warn_.Warn(code,
                     self->name_ + ": " + reason + (IsTransportError(code) ? " (retrying)" : ""));
  }

  std::string topic_;
  std::string name_;
  bool exit_at_eof_;
  int64_t broker_wait_ms_;
  Clock::time_point started_;
  std::string brokers_;    // bootstrap.servers, for the message
  bool answered_ = false;  // some broker answered since the start
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_message_t* msg_ = nullptr;     // the record Next() returned last
  std::map<int32_t, PartState> parts_;    // the current assignment
  std::map<int32_t, std::string> names_;  // "kafka:TOPIC/N"; never erased (InRecord::input)
  std::exception_ptr pending_;            // thrown in a callback, rethrown by Next()
  bool closing_ = false;
  Clock::time_point last_retry_;   // of RetryCommits()
  Clock::time_point asked_start_;  // of AskStartOffsets() ({}: ask at once)
  Clock::time_point assigned_at_;  // of the last non-empty assignment
  bool first_seen_ = true;         // its first record was logged (-v)
  WarnLimiter warn_;
};

void CheckTopic(const std::string& topic) {
  if (topic.empty()) throw Error(exitcode::kUsage, "kafka: needs a topic name (kafka:TOPIC)");
}

}  // namespace

std::unique_ptr<Source> OpenKafkaSource(const StreamOptions& opts, const std::string& topic) {
  CheckTopic(topic);
  return std::make_unique<KafkaSource>(opts, topic);
}

std::unique_ptr<Sink> OpenKafkaSink(const StreamOptions& opts, const std::string& topic) {
  CheckTopic(topic);
  return std::make_unique<KafkaSink>(opts, topic);
}

}  // namespace stockwatch
