// sw_cat: a small kcat-like copy tool over the stockwatch stream library
// (files, stdin/stdout, kafka:TOPIC). Test and benchmark infrastructure, not
// a product program: it drives the Kafka integration tests and the
// stream-validate benchmark.
//
//   sw_cat -i SPEC -o SPEC [-b BROKERS] [-G GROUP] [-X k=v]... [--dead-letter SPEC]
//          [--strict] [--exit-at-eof] [--validate] [--commit-limit N] [--max-records N]
//          [--mark-assign]
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/cli.h"
#include "stockwatch/core/log.h"
#include "stockwatch/core/records.h"
#include "stockwatch/stream/stream.h"

namespace stockwatch {
namespace {

struct CatOptions {
  bool validate = false;
  uint64_t commit_limit = 0;  // 0: commit as usual
  uint64_t max_records = 0;   // 0: no limit
  bool mark_assign = false;   // write {"type":"x-assigned","n":N} at each assignment
};

// Wraps the input for --max-records and --commit-limit. With a commit limit
// it commits once, synchronously, right after the Nth record is done, and
// never again (outputs are still flushed at every checkpoint): a later
// crash then leaves exactly those N records committed.
class LimitedSource final : public Source {
 public:
  LimitedSource(std::unique_ptr<Source> inner, const CatOptions& opts)
      : inner_(std::move(inner)), commit_limit_(opts.commit_limit), max_records_(opts.max_records) {
    inner_->set_pre_commit([this] {
      if (pre_commit_) pre_commit_();
    });
    inner_->set_idle([this] {
      if (idle_) idle_();
    });
    inner_->set_on_assign([this] {
      if (on_assign_) on_assign_();
    });
  }

  bool Next(InRecord& rec) override {
    if (max_records_ > 0 && read_ >= max_records_) return false;
    if (!inner_->Next(rec)) return false;
    ++read_;
    return true;
  }

  void Done() override {
    inner_->Done();
    if (commit_limit_ > 0 && ++done_ == commit_limit_) {
      inner_->Commit(true);
      log::Info("committed the first {} record(s); no more commits", done_);
    }
  }

  void Commit(bool sync) override {
    if (commit_limit_ == 0) {
      inner_->Commit(sync);
    } else if (pre_commit_) {
      pre_commit_();
    }
  }

  const std::string& name() const override { return inner_->name(); }

 private:
  std::unique_ptr<Source> inner_;
  uint64_t commit_limit_;
  uint64_t max_records_;
  uint64_t read_ = 0;
  uint64_t done_ = 0;
};

int RunCat(const StreamOptions& sopts, const CatOptions& copts) {
  std::unique_ptr<Sink> out = OpenSink(sopts, sopts.output);
  std::unique_ptr<Sink> dead_letter;
  std::vector<Sink*> outs{out.get()};
  if (!sopts.dead_letter.empty()) {
    dead_letter = OpenSink(sopts, sopts.dead_letter, /*append=*/true);
    outs.push_back(dead_letter.get());
  }
  LimitedSource in(OpenSource(sopts, sopts.input), copts);
  Rejecter rejecter(sopts.program, dead_letter.get(), sopts.strict,
                    [&](std::string_view msg) { cli::Diag(sopts.program, msg); });

  uint64_t assignments = 0;
  if (copts.mark_assign) {
    // Written from inside Next(), before any record of the new partitions.
    in.set_on_assign([&] {
      out->Write("", "{\"type\":\"x-assigned\",\"n\":" + std::to_string(++assignments) + "}");
    });
  }
  RecordParser parser;
  AnyRecord any;
  std::string buf;
  auto handle = [&](const InRecord& rec) {
    if (!copts.validate) {
      out->Write(rec.key, rec.value);
      return;
    }
    std::string_view key = rec.key;
    buf.clear();
    switch (parser.Parse(rec.value, rec.readable, any)) {
      case RecordType::kOther:
        out->Write(key, rec.value);  // a type we do not know: unchanged
        return;
      case RecordType::kQuote:
        AppendJson(buf, any.quote);
        key = any.quote.ticker;
        break;
      case RecordType::kAlert:
        AppendJson(buf, any.alert);
        key = any.alert.email;
        break;
      case RecordType::kDelivery:
        AppendJson(buf, any.delivery);
        break;
      case RecordType::kRejected:
        AppendJson(buf, any.rejected);
        break;
      case RecordType::kUser:
        AppendJson(buf, any.user);
        break;
      case RecordType::kWatch:
        AppendJson(buf, any.watch);
        break;
    }
    out->Write(key, buf);
  };
  RunLoop(in, outs, rejecter, handle);
  return rejecter.ExitCode();
}

}  // namespace
}  // namespace stockwatch

int main(int argc, char** argv) {
  namespace cli = stockwatch::cli;
  cli::CommonOptions common;
  common.program = "sw_cat";
  stockwatch::StreamOptions sopts;
  sopts.program = "sw_cat";
  stockwatch::CatOptions copts;
  CLI::App app{"sw_cat - copy records between stockwatch streams (test and bench tool)", "sw_cat"};
  cli::AddCommonFlags(app, common);
  cli::AddStreamFlags(app, sopts);
  app.add_flag("--validate", copts.validate, "Parse, validate and re-serialise each record");
  app.add_option("--commit-limit", copts.commit_limit,
                 "Commit once after N records, then never again (crash tests)");
  app.add_option("--max-records", copts.max_records, "Stop after N records");
  app.add_flag("--mark-assign", copts.mark_assign,
               "Kafka input: write an x-assigned record each time partitions are assigned");
  if (int rc = cli::Parse(app, argc, argv, common); rc >= 0) return rc;
  return cli::Run(common, [&] { return stockwatch::RunCat(sopts, copts); });
}
