#pragma once
/// Files of store-less stock-alert pipelines: the watch list (`--watches`,
/// watch records as `stockctl watch ls --json` prints them) and the edge
/// state file (`--state`), written atomically.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stockwatch/alert/engine.h"
#include "stockwatch/core/records.h"

namespace stockwatch {

/// Reads watch records, one JSON object per line. Blank lines are skipped;
/// records of other types are ignored, except that a `user` record supplies
/// the telegram_id of that user's watches that have none (so the output of
/// `stockctl export` works too). Throws Error(66) when the file is missing,
/// Error(74) when unreadable, DataError("PATH:LINE: what is wrong") for a
/// bad line.
std::vector<Watch> ReadWatchesFile(const std::string& path);

/// One line of a state file: the state and the band and move it was
/// computed for.
struct SavedState {
  WatchState state;
  std::optional<double> low;
  std::optional<double> high;
  std::optional<double> move;
  int64_t within = 0;
  MoveDirection direction = MoveDirection::kBoth;
};

/// Appends `{"type":"watch_state","email":..,"ticker":..,"state":"above",
/// "ts":"...","low":..,"high":..}` (no newline); a watch with a move adds
/// `"move":..` (and `"within"`, `"direction"` as in a watch record) and,
/// when a direction has fired, `"moved":"up"|"down"|"both"` and, for a day
/// change, `"move_ref"` (the previous close of that day).
void AppendStateJson(std::string& out, const SavedState& s);
/// Appends `{"type":"move_window","ticker":..,"points":[[ts_ms,price],...]}`.
void AppendWindowJson(std::string& out, const TickerWindow& w);
/// Parses one state line. Throws DataError naming the field.
SavedState ParseStateJson(std::string_view line);

/// A state file is a snapshot of every state followed by a journal: the
/// states changed since, appended at each save. A later line for the same
/// watch replaces an earlier one, so reading it in order gives the latest
/// state of each watch.
///
/// Reads a state file, in file order; `move_window` lines go to `*windows`
/// (a later line for a ticker replaces an earlier one; ignored when null).
/// A missing file is an empty state
/// (first run). A last line without its newline that does not parse is the
/// torn end of an append that a crash interrupted (its offsets were never
/// committed): it is left out and `*torn` set. Throws DataError("PATH:LINE:
/// ...") for any other bad line, Error(74) when unreadable, Error(77) when
/// PATH is a symbolic link (WriteStateFile would refuse it). `*bytes` gets
/// the file's size.
std::vector<SavedState> ReadStateFile(const std::string& path, size_t* bytes = nullptr,
                                      bool* torn = nullptr,
                                      std::vector<TickerWindow>* windows = nullptr);
/// Writes every state of `engine` (SnapshotStates) with each watch's band
/// and move, then every move window (SnapshotWindows),
/// with WriteFileAtomically (files.h): a new file of mode 0600 next to PATH,
/// fsynced and renamed over PATH, so a crash leaves either the old or the
/// new file. Returns the bytes written. Throws Error(74), Error(77) on EACCES
/// or when PATH is a symbolic link.
size_t WriteStateFile(const std::string& path, const AlertEngine& engine);
/// Appends `changed` (with each watch's band) to the journal at the end of
/// PATH, creating it 0600 when missing; fsyncs it when `sync`. Without it the
/// lines survive a crash of the program but not of the machine, as the
/// SQLite store's commits do (WAL, synchronous=NORMAL). A torn end left by a
/// crash is cut off first. Returns the bytes appended. Throws as
/// WriteStateFile.
size_t AppendStateFile(const std::string& path, const std::vector<WatchState>& changed,
                       const std::vector<TickerWindow>& windows, const AlertEngine& engine,
                       bool sync);

/// The saved states that still apply to the engine's watches: a saved
/// `above` whose high has changed since (or `below` whose low has) is
/// returned as inside, so a price outside the new band alerts again; the
/// move bits of a watch whose move, window or direction changed are dropped.
std::vector<WatchState> ApplicableStates(const std::vector<SavedState>& saved,
                                         const AlertEngine& engine);

}  // namespace stockwatch
