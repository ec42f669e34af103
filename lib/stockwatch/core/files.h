#pragma once
/// How the programs create and write files: every output file (`-o FILE`,
/// `--dead-letter FILE`, a `file:` target), every file replaced atomically
/// (the `--state` file) and the SQLite store go through these functions, so
/// one rule holds everywhere (README, "Security notes"):
///
/// - A symbolic link named as an output file is followed only when it is
///   owned by the user running the program or by root (your own links,
///   /dev/stderr); a link anybody else owns is refused (Error 77), wherever
///   it is (a world-writable /tmp or a directory of another user).
/// - A file replaced by rename (the state file) is never a symbolic link:
///   such a path is refused (Error 77). Its temporary file is created next to
///   it under a fresh random name with O_CREAT|O_EXCL (never through a link),
///   written, fsynced and renamed over it; the directory is fsynced too.
/// - Private files (the store, its -wal/-shm, the state file, dead letters)
///   are created 0600 and missing directories of the store 0700, whatever
///   the umask. Existing files and directories keep their permissions.
#include <sys/types.h>

#include <string>
#include <string_view>

namespace stockwatch {

/// Permission bits of a file only its owner may read.
inline constexpr mode_t kPrivateFileMode = 0600;
/// Permission bits of an ordinary output file, before the umask.
inline constexpr mode_t kSharedFileMode = 0666;

/// Opens `path` for writing (appending, or truncating it), creating it with
/// `mode` when missing (kPrivateFileMode is applied exactly, whatever the
/// umask). Follows a symbolic link only under the rule above. Returns the fd
/// (O_CLOEXEC). Throws Error: 77 for a refused link or EACCES, 74 otherwise,
/// the message starting with `path`.
int OpenOutputFile(const std::string& path, bool append, mode_t mode);

/// Replaces `path` with `data` atomically (a crash leaves the old or the new
/// file, never a mix), the new file having exactly `mode`. Throws Error: 77
/// when `path` is a symbolic link or on EACCES/EPERM, 74 otherwise.
void WriteFileAtomically(const std::string& path, std::string_view data,
                         mode_t mode = kPrivateFileMode);

/// Throws Error(77) when `path` exists and is a symbolic link (a file that
/// WriteFileAtomically will replace: the check can be made before any work).
void RefuseSymlink(const std::string& path);

/// Creates `dir` and its missing parents with mode 0700 (whatever the
/// umask); existing ones are left as they are. Errors are ignored: opening a
/// file in it reports them.
void MakePrivateDirs(const std::string& dir);

/// Creates `path` empty with mode 0600 when it does not exist (never through
/// a symbolic link), so that a program that then opens it (SQLite) finds it
/// private. Errors are ignored: the open that follows reports them.
void CreatePrivateFile(const std::string& path);

}  // namespace stockwatch
