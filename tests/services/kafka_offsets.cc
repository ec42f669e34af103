// kafka_offsets: a consumer group's committed offsets next to a topic's
// watermarks, without joining the group (so it can watch running services).
// Test and benchmark infrastructure.
//
//   kafka_offsets -b BROKERS -t TOPIC [-G GROUP] [--lag | --wait SECONDS | --until N]
//                 [-X KEY=VALUE]...
//
// Prints one line per partition, "PARTITION LOW HIGH COMMITTED" (COMMITTED
// is -1 when the group has none, or without -G); with --lag only the total
// lag: the sum over partitions of HIGH - max(COMMITTED, LOW). With --wait,
// polls the group's committed offsets every 10 ms (one request each; the
// watermarks are read once, so the topic must not grow meanwhile) until the
// lag is 0, and prints "FIRST LAG DONE": seconds until the lag first went
// down, the lag then, and seconds until it reached 0 (exit 1 after SECONDS).
// With --until N, polls the same way until the group has committed N
// records in all (the sum over partitions of COMMITTED - LOW; records that
// are still to come count too), then prints the wall-clock time of that
// poll as UNIX seconds with nanoseconds (exit 1 after --wait SECONDS,
// default 60): started before the records are produced, it times a pipeline
// without its own start-up in the measurement.
// On the mock cluster, asking about a topic that does not exist creates it
// (4 partitions). Exit 69 when the cluster does not answer, 66 when the
// topic does not exist.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>

namespace {

constexpr int kTimeoutMs = 10000;

int Fail(int code, const std::string& what) {
  std::fprintf(stderr, "kafka_offsets: %s\n", what.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::string brokers, topic, group;
  std::vector<std::string> props;
  bool lag_only = false;
  double wait_s = 0;
  CLI::App app{"kafka_offsets - committed offsets of a group and watermarks of a topic"};
  app.add_option("-b,--brokers", brokers, "Bootstrap servers")->required();
  app.add_option("-t,--topic", topic, "Topic")->required();
  app.add_option("-G,--group", group, "Consumer group whose committed offsets to show");
  app.add_option("-X", props, "librdkafka property KEY=VALUE (repeatable)");
  app.add_flag("--lag", lag_only, "Print only the group's total lag");
  app.add_option("--wait", wait_s, "Wait up to SECONDS for the group's lag to reach 0")
      ->check(CLI::PositiveNumber);
  int64_t until = -1;
  app.add_option("--until", until, "Wait until the group has committed N records in all")
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  if ((wait_s > 0 || until >= 0) && group.empty())
    return Fail(64, "--wait and --until need -G GROUP");

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  props.push_back("bootstrap.servers=" + brokers);
  // Never commits or joins: the group id only names whose offsets to fetch.
  props.push_back("group.id=" + (group.empty() ? std::string("kafka_offsets") : group));
  props.push_back("log_level=3");
  for (const std::string& p : props) {
    size_t eq = p.find('=');
    if (eq == std::string::npos ||
        rd_kafka_conf_set(conf, p.substr(0, eq).c_str(), p.substr(eq + 1).c_str(), err,
                          sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Fail(78, "-X " + p + ": " + (eq == std::string::npos ? "expected KEY=VALUE" : err));
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Fail(78, err);
  }
  int rc = 0;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, kTimeoutMs);
  std::vector<int32_t> partitions;
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rc = Fail(69, std::string("metadata: ") + rd_kafka_err2str(e));
  } else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rc = Fail(66,
              topic + ": " +
                  rd_kafka_err2str(md->topic_cnt == 1 ? md->topics[0].err
                                                      : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART));
  } else {
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
      partitions.push_back(md->topics[0].partitions[i].id);
    }
    std::sort(partitions.begin(), partitions.end());
  }
  if (md != nullptr) rd_kafka_metadata_destroy(md);

  rd_kafka_topic_partition_list_t* committed =
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (int32_t p : partitions) rd_kafka_topic_partition_list_add(committed, topic.c_str(), p);
  if (rc == 0 && !group.empty()) {
    e = rd_kafka_committed(rk, committed, kTimeoutMs);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rc = Fail(69, std::string("committed offsets: ") + rd_kafka_err2str(e));
    }
  }
  std::vector<int64_t> lows, highs;
  for (int i = 0; rc == 0 && i < committed->cnt; ++i) {
    int64_t low = 0, high = 0;
    e = rd_kafka_query_watermark_offsets(rk, topic.c_str(), committed->elems[i].partition, &low,
                                         &high, kTimeoutMs);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rc = Fail(69, "watermarks of partition " + std::to_string(committed->elems[i].partition) +
                        ": " + rd_kafka_err2str(e));
    }
    lows.push_back(low);
    highs.push_back(high);
  }
  // The lag of the committed offsets in `committed`.
  auto lag = [&] {
    int64_t total = 0;
    for (int i = 0; i < committed->cnt; ++i) {
      int64_t done =
          group.empty() || committed->elems[i].offset < 0 ? -1 : committed->elems[i].offset;
      total += highs[static_cast<size_t>(i)] - std::max(done, lows[static_cast<size_t>(i)]);
    }
    return total;
  };
  if (rc == 0 && until >= 0) {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point start = Clock::now();
    const double limit_s = wait_s > 0 ? wait_s : 60;
    auto done = [&] {
      int64_t total = 0;
      for (int i = 0; i < committed->cnt; ++i) {
        int64_t low = lows[static_cast<size_t>(i)];
        total += std::max<int64_t>(0, committed->elems[i].offset - low);
      }
      return total;
    };
    int64_t have = done();
    while (have < until && std::chrono::duration<double>(Clock::now() - start).count() < limit_s) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      e = rd_kafka_committed(rk, committed, kTimeoutMs);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) have = done();  // else e.g. a rebalance: poll again
    }
    if (have < until) {
      rc = Fail(1, std::to_string(have) + " of " + std::to_string(until) +
                       " records committed after " + std::to_string(limit_s) + " s");
    } else {
      struct timespec ts {};
      clock_gettime(CLOCK_REALTIME, &ts);
      std::printf("%lld.%09ld\n", static_cast<long long>(ts.tv_sec), ts.tv_nsec);
    }
  } else if (rc == 0 && wait_s > 0) {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point start = Clock::now();
    auto since = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
    const int64_t initial = lag();
    int64_t left = initial, first_lag = -1;
    double first = -1;
    while (left > 0 && since() < wait_s) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      e = rd_kafka_committed(rk, committed, kTimeoutMs);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // e.g. during a rebalance
      left = lag();
      if (first < 0 && left < initial) {
        first = since();
        first_lag = left;
      }
    }
    if (left > 0) {
      rc = Fail(1, "lag still " + std::to_string(left) + " after " + std::to_string(wait_s) + " s");
    } else {
      if (first < 0) {  // nothing to wait for
        first_lag = 0;
        first = since();
      }
      std::printf("%.3f %lld %.3f\n", first, static_cast<long long>(first_lag), since());
    }
  } else if (rc == 0 && lag_only) {
    std::printf("%lld\n", static_cast<long long>(lag()));
  } else {
    for (int i = 0; rc == 0 && i < committed->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = committed->elems[i];
      std::printf("%d %lld %lld %lld\n", tp.partition,
                  static_cast<long long>(lows[static_cast<size_t>(i)]),
                  static_cast<long long>(highs[static_cast<size_t>(i)]),
                  static_cast<long long>(group.empty() || tp.offset < 0 ? -1 : tp.offset));
    }
  }
  rd_kafka_topic_partition_list_destroy(committed);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return rc;
}
