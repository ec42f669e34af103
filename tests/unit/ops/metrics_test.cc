#include "stockwatch/ops/metrics.h"

#include <cmath>

#include <doctest/doctest.h>

#include "stockwatch/ops/service.h"

using namespace stockwatch;

TEST_CASE("metrics: counters, gauges and histograms in the text format 0.0.4") {
  metrics::Registry r;
  r.counter("sw_alerts_total", "Alerts by condition", {{"condition", "above"}}).Inc(3);
  r.counter("sw_alerts_total", "Alerts by condition", {{"condition", "below"}}).Set(2);
  r.gauge("sw_lag", "Lag \\ with a backslash\nand a newline", {{"topic", "a\"b"}}).Set(1.5);
  metrics::Histogram& h =
      r.histogram("sw_latency_seconds", "Latency", {{"source", "yahoo"}}, {0.1, 1});
  h.Observe(0.0625);
  h.Observe(0.5);
  h.Observe(3);
  CHECK(r.Render() ==
        "# HELP sw_alerts_total Alerts by condition\n"
        "# TYPE sw_alerts_total counter\n"
        "sw_alerts_total{condition=\"above\"} 3\n"
        "sw_alerts_total{condition=\"below\"} 2\n"
        "# HELP sw_lag Lag \\\\ with a backslash\\nand a newline\n"
        "# TYPE sw_lag gauge\n"
        "sw_lag{topic=\"a\\\"b\"} 1.5\n"
        "# HELP sw_latency_seconds Latency\n"
        "# TYPE sw_latency_seconds histogram\n"
        "sw_latency_seconds_bucket{source=\"yahoo\",le=\"0.1\"} 1\n"
        "sw_latency_seconds_bucket{source=\"yahoo\",le=\"1\"} 2\n"
        "sw_latency_seconds_bucket{source=\"yahoo\",le=\"+Inf\"} 3\n"
        "sw_latency_seconds_sum{source=\"yahoo\"} 3.5625\n"
        "sw_latency_seconds_count{source=\"yahoo\"} 3\n");
  CHECK(r.Sum("sw_alerts_total") == 5);
  CHECK(r.Sum("sw_alerts_total", {{"condition", "below"}}) == 2);
  CHECK(&r.counter("sw_alerts_total", "", {{"condition", "above"}}) ==
        &r.counter("sw_alerts_total", "", {{"condition", "above"}}));
  CHECK_THROWS_AS(r.gauge("sw_alerts_total", ""), std::logic_error);
}

TEST_CASE("metrics: a series removed (a partition no longer read) is no longer rendered") {
  metrics::Registry r;
  r.gauge("sw_lag", "Lag", {{"partition", "0"}}).Set(4);
  r.gauge("sw_lag", "Lag", {{"partition", "1"}}).Set(7);
  r.Remove("sw_lag", {{"partition", "0"}});
  r.Remove("sw_lag", {{"partition", "9"}});  // none: nothing happens
  r.Remove("sw_none", {});
  CHECK(r.Render() == "# HELP sw_lag Lag\n# TYPE sw_lag gauge\nsw_lag{partition=\"1\"} 7\n");
  CHECK(r.Sum("sw_lag") == 7);
  CHECK(r.gauge("sw_lag", "Lag", {{"partition", "0"}}).value() == 0);  // a new series
}

TEST_CASE("metrics: an age gauge reads as seconds since the time it holds") {
  metrics::Registry r;
  metrics::Gauge& g = r.gauge("sw_age_seconds", "Age");
  auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
  g.SetAgeOf(now.count() - 100);
  CHECK(g.value() >= 100);
  CHECK(g.value() < 100 + 3600);  // not a wall-clock bound on the test: a sanity range
}

TEST_CASE("service: the status line from the metrics") {
  metrics::Registry r;
  double prev = -1;
  r.counter("stockwatch_records_in_total", "", {{"type", "quote"}}).Set(100);
  r.counter("stockwatch_alerts_total", "", {{"condition", "above"}}).Set(4);
  r.gauge("stockwatch_consumer_lag", "", {{"topic", "q"}, {"partition", "0"}}).Set(7);
  r.gauge("stockwatch_breaker_state", "", {{"source", "yahoo"}, {"state", "open"}}).Set(1);
  r.gauge("stockwatch_breaker_state", "", {{"source", "yahoo"}, {"state", "closed"}}).Set(0);
  CHECK(service::StatusLine(r, 2, prev) == "0 quotes/s, 4 alerts, lag 7, breaker yahoo open");
  r.counter("stockwatch_records_in_total", "", {{"type", "quote"}}).Set(300);
  CHECK(service::StatusLine(r, 2, prev) == "100 quotes/s, 4 alerts, lag 7, breaker yahoo open");
}
