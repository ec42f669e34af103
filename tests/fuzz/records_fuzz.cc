// libFuzzer target: the JSON-lines record parser and the serialisers must
// never crash, and whatever parses must serialise to something that parses
// again to the same JSON (a fixed point).
// layers: core
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "stockwatch/core/records.h"

using namespace stockwatch;

namespace {
template <typename R>
void CheckFixedPoint(RecordParser& p, const R& r, RecordType want) {
  std::string once = ToJson(r);
  AnyRecord again;
  if (p.Parse(once, again) != want) abort();
  std::string twice;
  switch (want) {
    case RecordType::kQuote:
      twice = ToJson(again.quote);
      break;
    case RecordType::kWatch:
      twice = ToJson(again.watch);
      break;
    case RecordType::kUser:
      twice = ToJson(again.user);
      break;
    case RecordType::kAlert:
      twice = ToJson(again.alert);
      break;
    case RecordType::kDelivery:
      twice = ToJson(again.delivery);
      break;
    default:
      return;
  }
  if (once != twice) abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static RecordParser parser;
  static RecordParser checker;
  AnyRecord rec;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  try {
    switch (parser.Parse(line, rec)) {
      case RecordType::kQuote:
        CheckFixedPoint(checker, rec.quote, RecordType::kQuote);
        break;
      case RecordType::kWatch:
        CheckFixedPoint(checker, rec.watch, RecordType::kWatch);
        break;
      case RecordType::kUser:
        CheckFixedPoint(checker, rec.user, RecordType::kUser);
        break;
      case RecordType::kAlert:
        CheckFixedPoint(checker, rec.alert, RecordType::kAlert);
        break;
      case RecordType::kDelivery:
        CheckFixedPoint(checker, rec.delivery, RecordType::kDelivery);
        break;
      case RecordType::kRejected:
        (void)ToJson(rec.rejected);
        break;
      case RecordType::kOther:
        break;
    }
  } catch (const DataError&) {
    // Rejected input is the expected outcome for most fuzz inputs.
  }
  return 0;
}
