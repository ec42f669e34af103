// kafka_offsets: a consumer group's committed offsets next to a topic's
// watermarks, without joining the group (so it can watch running services).
// Test and benchmark infrastructure.
//
//   kafka_offsets -b BROKERS -t TOPIC [-G GROUP] [--lag] [-X KEY=VALUE]...
//
// Prints one line per partition, "PARTITION LOW HIGH COMMITTED" (COMMITTED
// is -1 when the group has none, or without -G); with --lag only the total
// lag: the sum over partitions of HIGH - max(COMMITTED, LOW). Exit 69 when
// the cluster does not answer, 66 when the topic does not exist.
#include <librdkafka/rdkafka.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

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
  CLI::App app{"kafka_offsets - committed offsets of a group and watermarks of a topic"};
  app.add_option("-b,--brokers", brokers, "Bootstrap servers")->required();
  app.add_option("-t,--topic", topic, "Topic")->required();
  app.add_option("-G,--group", group, "Consumer group whose committed offsets to show");
  app.add_option("-X", props, "librdkafka property KEY=VALUE (repeatable)");
  app.add_flag("--lag", lag_only, "Print only the group's total lag");
  CLI11_PARSE(app, argc, argv);

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
    rc = Fail(66, topic + ": " +
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
  int64_t total_lag = 0;
  for (int i = 0; rc == 0 && i < committed->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = committed->elems[i];
    int64_t low = 0, high = 0;
    e = rd_kafka_query_watermark_offsets(rk, topic.c_str(), tp.partition, &low, &high,
                                         kTimeoutMs);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rc = Fail(69, "watermarks of partition " + std::to_string(tp.partition) + ": " +
                        rd_kafka_err2str(e));
      break;
    }
    int64_t done = group.empty() || tp.offset < 0 ? -1 : tp.offset;
    total_lag += high - std::max(done, low);
    if (!lag_only) {
      std::printf("%d %lld %lld %lld\n", tp.partition, static_cast<long long>(low),
                  static_cast<long long>(high), static_cast<long long>(done));
    }
  }
  if (rc == 0 && lag_only) std::printf("%lld\n", static_cast<long long>(total_lag));
  rd_kafka_topic_partition_list_destroy(committed);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return rc;
}
