#include "stockwatch/collect/hours.h"

#include "stockwatch/store/store.h"

namespace stockwatch {

void SessionBook::Load() {
  if (loaded_) return;
  loaded_ = true;
  if (store_ == nullptr) return;
  for (const KeyValue& kv : store_->queries().ValuesWithPrefix(kSessionPrefix)) {
    if (std::optional<MarketSession> s = ParseSession(kv.value))
      sessions_[kv.key.substr(kSessionPrefix.size())] = std::move(*s);
  }
}

std::optional<MarketSession> SessionBook::Get(const std::string& ticker) {
  Load();
  auto it = sessions_.find(ticker);
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

void SessionBook::Learn(const std::string& ticker, MarketSession s, TimeMs now) {
  Load();
  s.updated = now;
  auto it = sessions_.find(ticker);
  bool write = it == sessions_.end() || !SamePeriod(it->second, s);
  if (!write) {
    // The same period: only the quote after a close needs its time kept.
    MarketSession before = it->second;
    write = MarketAt(ticker, before, now).state == MarketState::kAfterClose;
  }
  if (!write) return;
  if (store_ != nullptr) store_->commands().PutValue(SessionKey(ticker), FormatSession(s));
  sessions_[ticker] = std::move(s);
}

std::vector<std::string> OpenMarkets(SessionBook& book, const std::vector<std::string>& tickers,
                                     TimeMs now, size_t& skipped) {
  std::vector<std::string> out;
  skipped = 0;
  for (const std::string& t : tickers) {
    if (ShouldAsk(MarketAt(t, book.Get(t), now)))
      out.push_back(t);
    else
      ++skipped;
  }
  return out;
}

}  // namespace stockwatch
