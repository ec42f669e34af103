#pragma once
/// Errors that know which sysexits(3) code the process should end with.
#include <stdexcept>
#include <string>

namespace stockwatch {

/// Exit codes of every stockwatch program (docs/design.md, "Exit codes").
namespace exitcode {
inline constexpr int kOk = 0;
inline constexpr int kUsage = 64;         // bad flags
inline constexpr int kDataErr = 65;       // bad input data
inline constexpr int kNoInput = 66;       // input file missing
inline constexpr int kUnavailable = 69;   // DB, broker, source down after retries
inline constexpr int kSoftware = 70;      // internal error
inline constexpr int kIoErr = 74;         // a write failed
inline constexpr int kTempFail = 75;      // breaker open, rate limited: retry later
inline constexpr int kNoPerm = 77;        // permission denied
inline constexpr int kConfig = 78;        // bad configuration
inline constexpr int kInterrupted = 130;  // SIGINT
}  // namespace exitcode

/// An error carrying the exit code the process should end with. The message
/// is what follows "program: " on stderr.
class Error : public std::runtime_error {
 public:
  Error(int exit_code, const std::string& what) : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

/// Bad input data (exit 65). The message names the field: "price: not a number".
class DataError : public Error {
 public:
  explicit DataError(const std::string& what) : Error(exitcode::kDataErr, what) {}
};

}  // namespace stockwatch
