#pragma once
// Private to the alert engine (engine.cc, moves.cc).
#include <vector>

#include "stockwatch/alert/engine.h"

namespace stockwatch {

/// The engine's next state, built step by step by SetWatches.
struct AlertEngine::NewSet {
  std::vector<Watch> watches;
  std::vector<uint32_t> by_key;
  std::vector<Slot> slots;
  std::vector<TickerCold> tickers;
  std::vector<TickerSlot> proto;  // the table entries, before placement
  std::vector<uint32_t> ticker_watches;
  std::vector<double> values;
  std::vector<uint32_t> owners;
  std::vector<TickerSlot> table;
  std::vector<uint32_t> id_of_pos;
  std::vector<MoveSlot> moves;
  std::vector<MoveGroup> groups;
  std::vector<MoveGroupCold> group_cold;
  std::vector<TickerMoves> ticker_moves;
  std::vector<double> move_values, move_rearm;
  std::vector<uint32_t> move_owners;
};

}  // namespace stockwatch
