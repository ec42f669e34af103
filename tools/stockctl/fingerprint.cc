// The fingerprint of a request given with --request-id: a SHA-256 over the
// command, the arguments that decide what it does and, for import and quote
// ingest, the bytes of the input. The store keeps it with the outcome, so an
// id repeated with another request is refused instead of answered.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <openssl/evp.h>

#include "stockctl.h"
#include "stockwatch/core/signals.h"

namespace stockwatch::stockctl {
namespace {

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw Error(exitcode::kSoftware, "SHA-256 is not available");
  }
  void Add(std::string_view s) { EVP_DigestUpdate(ctx_.get(), s.data(), s.size()); }
  /// Each field as "name=length:value;", so no two requests share a text.
  void Field(std::string_view name, std::string_view value) {
    Add(name);
    Add("=" + std::to_string(value.size()) + ":");
    Add(value);
    Add(";");
  }
  /// Field() when `value` is not empty: a field added to the fingerprint
  /// later leaves the fingerprint of a request that does not use it as an
  /// older version computed it (its stored request ids keep working).
  void FieldIfGiven(std::string_view name, std::string_view value) {
    if (!value.empty()) Field(name, value);
  }
  std::string Hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
      out.push_back(kHex[md[i] >> 4]);
      out.push_back(kHex[md[i] & 15]);
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

[[noreturn]] void ThrowErrno(int err, const std::string& what) {
  throw Error(err == ENOENT   ? exitcode::kNoInput
              : err == EACCES ? exitcode::kNoPerm
                              : exitcode::kIoErr,
              what + ": " + std::strerror(err));
}

// Hashes what is left of `fd` from its offset; with `copy_to` >= 0, also
// writes it there.
void HashFd(int fd, const std::string& name, Sha256& h, int copy_to) {
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno != EINTR) ThrowErrno(errno, name);
      if (StopRequested()) {
        throw Error(StoppedExitCode(),
                    StoppedBy() + " while reading " + name + ": nothing was stored");
      }
      continue;
    }
    if (n == 0) return;
    h.Add(std::string_view(buf, static_cast<size_t>(n)));
    for (ssize_t done = 0; copy_to >= 0 && done < n;) {
      const ssize_t w = write(copy_to, buf + done, static_cast<size_t>(n - done));
      if (w < 0) {
        if (errno == EINTR) continue;
        throw Error(exitcode::kIoErr,
                    "a temporary copy of stdin: " + std::string(std::strerror(errno)));
      }
      done += w;
    }
  }
}

// Hashes what is left of `fd` into `h`, copying it to an unlinked temporary
// file; returns that file, rewound (the caller closes it).
int HashToCopy(int fd, const std::string& name, Sha256& h) {
  const char* dir = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/stockctl.XXXXXX";
  const int copy = mkostemp(tmpl.data(), O_CLOEXEC);
  if (copy < 0) {
    throw Error(exitcode::kIoErr,
                tmpl + ": cannot keep a copy of " + name + ": " + std::strerror(errno));
  }
  unlink(tmpl.c_str());
  try {
    HashFd(fd, name, h, copy);
    if (lseek(copy, 0, SEEK_SET) < 0) ThrowErrno(errno, name);
  } catch (...) {
    close(copy);
    throw;
  }
  return copy;
}

bool IsRegular(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

// Hashes what is left of `fd` and puts its offset back, when it is a
// regular file (which can be read twice); false, reading nothing, otherwise.
bool HashInPlace(int fd, const std::string& name, Sha256& h) {
  if (!IsRegular(fd)) return false;
  const off_t at = lseek(fd, 0, SEEK_CUR);
  if (at < 0) return false;
  HashFd(fd, name, h, -1);
  if (lseek(fd, at, SEEK_SET) < 0) ThrowErrno(errno, name);
  return true;
}

// The digest of stdin. A regular file is read and rewound; a pipe or a
// terminal is copied to an unlinked temporary file, which then becomes
// stdin, so the command reads the very bytes that were hashed.
std::string StdinDigest() {
  Sha256 h;
  if (HashInPlace(0, "stdin", h)) return h.Hex();
  const int copy = HashToCopy(0, "stdin", h);
  const bool moved = dup2(copy, 0) >= 0;
  const int err = errno;
  close(copy);
  if (!moved) ThrowErrno(err, "stdin");
  return h.Hex();
}

// The digest of the input named `o.file`, opened once: a regular file is
// hashed and rewound, anything else (a FIFO, <(...)) copied as it is
// hashed. Either is left open in o.input_fd for the command to read, so it
// reads the bytes that were hashed even when the name is given to another
// file meanwhile (a writer's rename).
std::string InputDigest(Options& o) {
  const std::string& spec = o.file;
  if (spec.rfind("kafka:", 0) == 0) return "spec " + spec;  // a topic has no fixed bytes
  if (spec.empty() || spec == "-") return StdinDigest();
  const int fd = open(spec.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) ThrowErrno(errno, spec);
  Sha256 h;
  try {
    if (HashInPlace(fd, spec, h)) {
      o.input_fd = fd;
      return h.Hex();
    }
    o.input_fd = HashToCopy(fd, spec, h);
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
  return h.Hex();
}

}  // namespace

std::string RequestFingerprint(Options& o) {
  Sha256 h;
  h.Field("command", o.command);
  h.Field("email", o.email);
  h.Field("ticker", o.ticker);
  h.Field("telegram_id", o.telegram_id);
  h.Field("no_telegram", o.no_telegram ? "1" : "");
  h.Field("interval", o.interval);
  h.Field("low", o.low);
  h.Field("high", o.high);
  h.Field("no_low", o.no_low ? "1" : "");
  h.Field("no_high", o.no_high ? "1" : "");
  h.FieldIfGiven("move", o.move);
  h.FieldIfGiven("no_move", o.no_move ? "1" : "");
  h.FieldIfGiven("within", o.within);
  h.FieldIfGiven("up", o.up ? "1" : "");
  h.FieldIfGiven("down", o.down ? "1" : "");
  h.FieldIfGiven("both", o.both ? "1" : "");
  h.Field("filter_email", o.filter_email);
  h.Field("filter_ticker", o.filter_ticker);
  h.Field("n", std::to_string(o.n));
  h.Field("limit", std::to_string(o.limit));
  h.Field("plot", o.plot ? std::to_string(o.height) : "");
  h.Field("strict", o.strict ? "1" : "");
  h.Field("dead_letter", o.dead_letter);
  if (o.command == "import" || o.command == "quote ingest") h.Field("input", InputDigest(o));
  return "sha256:" + h.Hex();
}

}  // namespace stockwatch::stockctl
