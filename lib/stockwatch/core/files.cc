#include "stockwatch/core/files.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "stockwatch/core/error.h"

namespace stockwatch {
namespace {

constexpr mode_t kPrivateDirMode = 0700;
// Attempts when the file changes under us between two system calls (created,
// removed or replaced by another process): then the operation fails.
constexpr int kRaceAttempts = 8;

[[noreturn]] void Fail(const std::string& path, int err) {
  throw Error(err == EACCES || err == EPERM ? exitcode::kNoPerm : exitcode::kIoErr,
              path + ": " + std::strerror(err));
}

std::string OwnerName(uid_t uid) {
  std::string out;
  if (const passwd* pw = getpwuid(uid); pw != nullptr && pw->pw_name != nullptr) {
    out = pw->pw_name;
    out += " (uid ";
  } else {
    out = "(uid ";
  }
  out += std::to_string(uid);
  out += ')';
  return out;
}

/// Links this process may follow: its own (effective uid) and root's.
bool TrustedOwner(uid_t uid) { return uid == 0 || uid == geteuid(); }

/// Sets exactly `mode` on a file this call created (the umask may have
/// taken bits away, or left group/other bits of a private mode).
void ApplyMode(int fd, mode_t mode) {
  if (mode == kPrivateFileMode) fchmod(fd, mode);
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

int OpenOutputFile(const std::string& path, bool append, mode_t mode) {
  const int flags = O_WRONLY | O_CLOEXEC | O_NOCTTY | (append ? O_APPEND : O_TRUNC);
  for (int attempt = 0; attempt < kRaceAttempts; ++attempt) {
    // A new file: O_EXCL never follows a link, and says the file is ours.
    int fd = open(path.c_str(), flags | O_CREAT | O_EXCL, mode);
    if (fd >= 0) {
      ApplyMode(fd, mode);
      return fd;
    }
    if (errno != EEXIST) Fail(path, errno);
    // It exists: open it unless it is a symbolic link.
    fd = open(path.c_str(), flags | O_NOFOLLOW);
    if (fd >= 0) return fd;
    if (errno == ENOENT) continue;  // removed in between
    if (errno != ELOOP) Fail(path, errno);
    struct stat link {};
    if (lstat(path.c_str(), &link) != 0) {
      if (errno == ENOENT) continue;
      Fail(path, errno);
    }
    if (!S_ISLNK(link.st_mode)) continue;  // replaced in between
    if (!TrustedOwner(link.st_uid)) {
      throw Error(exitcode::kNoPerm,
                  path + ": is a symbolic link owned by " + OwnerName(link.st_uid) +
                      ": refusing to follow it (only links owned by you or by root are "
                      "followed; name the file itself)");
    }
    fd = open(path.c_str(), flags | O_CREAT, mode);
    if (fd < 0) Fail(path, errno);
    // The link we judged must be the one the kernel followed: not swapped
    // for another in between (possible in a directory others may write).
    struct stat again {};
    if (lstat(path.c_str(), &again) == 0 && S_ISLNK(again.st_mode) && again.st_ino == link.st_ino &&
        again.st_dev == link.st_dev && TrustedOwner(again.st_uid)) {
      return fd;
    }
    close(fd);
  }
  throw Error(exitcode::kIoErr, path + ": changed while being opened; try again");
}

void RefuseSymlink(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    throw Error(exitcode::kNoPerm, path +
                                       ": is a symbolic link: refusing to replace it (this file is "
                                       "rewritten by rename; name the file itself)");
  }
}

void WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode) {
  RefuseSymlink(path);
  // A fresh name next to the target (same file system, so rename is atomic),
  // created with O_CREAT|O_EXCL: nothing planted there can be written through.
  std::vector<char> tmp(path.begin(), path.end());
  const char kSuffix[] = ".tmp.XXXXXX";
  tmp.insert(tmp.end(), kSuffix, kSuffix + sizeof kSuffix);  // with the NUL
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) Fail(path, errno);
  const std::string tmp_path(tmp.data());
  auto fail = [&](int err) {
    close(fd);
    unlink(tmp_path.c_str());
    Fail(tmp_path, err);
  };
  if (fchmod(fd, mode) != 0) fail(errno);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno);
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) fail(errno);
  if (close(fd) != 0) {
    int err = errno;
    unlink(tmp_path.c_str());
    Fail(tmp_path, err);
  }
  // rename(2) replaces a link itself, never its target; the check above only
  // makes a link at `path` an error rather than something silently replaced.
  if (rename(tmp_path.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp_path.c_str());
    Fail(path, err);
  }
  // Make the rename itself durable.
  int dfd = open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
}

void MakePrivateDirs(const std::string& dir) {
  if (dir.empty()) return;
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) return;
  const std::string parent = DirOf(dir);
  if (parent != dir && parent != "." && parent != "/") MakePrivateDirs(parent);
  if (mkdir(dir.c_str(), kPrivateDirMode) != 0) return;
  // Exactly 0700 whatever the umask, on the directory just made (not on
  // whatever might have replaced it by now).
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    fchmod(fd, kPrivateDirMode);
    close(fd);
  }
}

void CreatePrivateFile(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, kPrivateFileMode);
  if (fd < 0) return;  // it exists (or cannot be created: the caller's open says why)
  fchmod(fd, kPrivateFileMode);
  close(fd);
}

}  // namespace stockwatch
