#include "procfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "errors.h"
#include "plain_pages.h"

namespace malloclab {

namespace {

constexpr size_t kMaxProcFile = 16384;

[[noreturn]] void throw_proc_error(const char* syscall, int err, pid_t pid, const char* file) {
  std::string detail =
      pid == 0 ? std::string("/proc/self/") + file : "/proc/" + std::to_string(pid) + "/" + file;
  if (err == ENOENT || err == ESRCH) {
    detail += ": no process with pid " + std::to_string(pid) + " (it exited or never existed)";
  } else if (err == EACCES || err == EPERM) {
    detail += ": permission denied (the process belongs to another user)";
  }
  throw_errno(syscall, err, detail);
}

size_t read_whole(pid_t pid, const char* file, char* buffer, size_t size) {
  ssize_t length = read_proc_file(pid, file, buffer, size);
  if (length < 0) throw_proc_error("read", static_cast<int>(-length), pid, file);
  return static_cast<size_t>(length);
}

}  // namespace

void read_status(pid_t pid, double* out) {
  char buffer[kMaxProcFile];
  size_t length = read_whole(pid, "status", buffer, sizeof buffer);
  parse_fields(buffer, length, kStatusFields, out);
}

void read_self_sample(double* out) {
  int err = read_sample(out);
  if (err != 0) throw_proc_error("read", err, 0, "status");
}

void read_smaps_rollup(pid_t pid, double* out) {
  char buffer[kMaxProcFile];
  size_t length = read_whole(pid, "smaps_rollup", buffer, sizeof buffer);
  parse_fields(buffer, length, kSmapsRollupFields, out);
}

void read_statm(pid_t pid, double* out) {
  char buffer[256];
  size_t length;
  if (pid == 0) {
    // Kept open: statm is the cheap path, and pread on a proc fd re-generates it.
    static int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_proc_error("open", errno, pid, "statm");
    ssize_t got = pread(fd, buffer, sizeof buffer - 1, 0);
    if (got < 0) throw_proc_error("pread", errno, pid, "statm");
    length = static_cast<size_t>(got);
  } else {
    length = read_whole(pid, "statm", buffer, sizeof buffer - 1);
  }
  buffer[length] = '\0';
  const double page = static_cast<double>(page_size());
  const char* p = buffer;
  for (int i = 0; i < kStatmFields.count; ++i) {
    char* next = nullptr;
    unsigned long long pages = std::strtoull(p, &next, 10);
    out[i] = next == p ? NAN : static_cast<double>(pages) * page;
    p = next;
  }
}

void reset_peak_rss(pid_t pid) {
  char path[64];
  if (pid == 0) {
    std::snprintf(path, sizeof path, "/proc/self/clear_refs");
  } else {
    std::snprintf(path, sizeof path, "/proc/%d/clear_refs", static_cast<int>(pid));
  }
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw_proc_error("open", errno, pid, "clear_refs");
  ssize_t wrote = write(fd, "5", 1);
  int err = errno;
  close(fd);
  if (wrote != 1) throw_proc_error("write", err, pid, "clear_refs");
}

}  // namespace malloclab
