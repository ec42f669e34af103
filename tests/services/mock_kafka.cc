// mock_kafka: runs librdkafka's mock Kafka cluster for the tests (INFRA.md)
// until SIGTERM/SIGINT, and writes its bootstrap servers to a file.
//
//   mock_kafka [--brokers N] [--topic NAME:PARTITIONS]... [--die-with-parent]
//              --bootstrap-file F
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "stockwatch/core/files.h"

namespace {

struct TopicSpec {
  std::string name;
  int partitions = 4;
};

TopicSpec ParseTopic(const std::string& spec) {
  TopicSpec t;
  size_t colon = spec.rfind(':');
  t.name = spec.substr(0, colon);
  if (colon != std::string::npos) t.partitions = std::stoi(spec.substr(colon + 1));
  if (t.name.empty() || t.partitions < 1) throw std::invalid_argument(spec);
  return t;
}

// Write-then-rename, so a reader polling for the file never sees half of it.
bool WriteAtomically(const std::string& path, const std::string& text) {
  try {
    stockwatch::WriteFileAtomically(path, text + "\n", 0644);
    return true;
  } catch (const std::exception& e) {
    std::cerr << "mock_kafka: " << e.what() << "\n";
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  std::vector<std::string> topic_specs;
  std::string bootstrap_file;
  bool die_with_parent = false;
  CLI::App app{"mock_kafka - librdkafka's mock Kafka cluster, for tests"};
  app.add_option("--brokers", brokers, "Number of brokers")->check(CLI::Range(1, 32));
  app.add_option("--topic", topic_specs, "Create topic NAME:PARTITIONS (repeatable)");
  app.add_option("--bootstrap-file", bootstrap_file, "Write the bootstrap servers here")
      ->required();
  app.add_flag("--die-with-parent", die_with_parent, "Exit when the parent process dies");
  CLI11_PARSE(app, argc, argv);

  std::vector<TopicSpec> topics;
  try {
    for (const std::string& s : topic_specs) topics.push_back(ParseTopic(s));
  } catch (const std::exception&) {
    std::cerr << "mock_kafka: --topic wants NAME:PARTITIONS\n";
    return 64;
  }

  // Every librdkafka thread inherits this mask, so the signals reach sigwait.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  if (die_with_parent) {
    // Do not outlive the script that started us, even after its kill -9.
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) return 0;
  }

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  // The mock brokers' sockets take this from here. With Nagle on, a small
  // response queued behind another waits for the client's delayed ACK:
  // ~40 ms per flush whenever a producer writes to several partitions.
  // Real brokers set TCP_NODELAY.
  rd_kafka_conf_set(conf, "socket.nagle.disable", "true", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    std::cerr << "mock_kafka: " << err << '\n';
    return 70;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (mc == nullptr) {
    std::cerr << "mock_kafka: cannot create the mock cluster\n";
    rd_kafka_destroy(rk);
    return 70;
  }
  for (const TopicSpec& t : topics) {
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, t.name.c_str(), t.partitions, 1);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::cerr << "mock_kafka: topic " << t.name << ": " << rd_kafka_err2str(e) << '\n';
      return 70;
    }
  }
  std::string bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
  if (!WriteAtomically(bootstrap_file, bootstraps)) {
    std::cerr << "mock_kafka: cannot write " << bootstrap_file << '\n';
    return 73;
  }
  std::cerr << "mock_kafka: " << brokers << " broker(s) at " << bootstraps << '\n';

  int sig = 0;
  sigwait(&stop, &sig);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
