#pragma once
// Private to the alert engine (engine.cc, moves.cc).
#include <vector>

#include "stockwatch/alert/engine.h"

namespace stockwatch {

/// The engine's next state, built step by step by SetWatches.
struct AlertEngine::NewSet {
  std::vector<Watch> watches;
  std::vector<uint32_t> by_key;
  PageVector<Slot> slots;
  std::vector<TickerCold> tickers;
  std::vector<TickerSlot> proto;  // the table entries, before placement
  std::vector<uint32_t> ticker_watches;
  PageVector<double> values;
  PageVector<uint32_t> owners;
  PageVector<TickerSlot> table;
  std::vector<uint32_t> id_of_pos;
  PageVector<MoveSlot> moves;
  PageVector<MoveGroup> groups;
  PageVector<MoveGroupCold> group_cold;
  PageVector<TickerMoves> ticker_moves;
  PageVector<double> move_values, move_rearm;
  PageVector<uint32_t> move_owners;
  PageVector<AlertFacts> facts;
  PageVector<char> long_emails;
};

}  // namespace stockwatch
