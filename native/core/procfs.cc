#include "procfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "errors.h"

namespace malloclab {

namespace {

const char* const kStatusNames[] = {
    "VmPeak", "VmSize", "VmLck",  "VmPin",  "VmHWM", "VmRSS",
    "RssAnon", "RssFile", "RssShmem", "VmData", "VmStk", "VmExe",
    "VmLib",  "VmPTE",  "VmSwap", "HugetlbPages", "Threads"};
const char* const kSmapsRollupNames[] = {
    "Rss", "Pss", "Pss_Dirty", "Pss_Anon", "Pss_File", "Pss_Shmem",
    "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty",
    "Referenced", "Anonymous", "KSM", "LazyFree", "AnonHugePages",
    "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb",
    "Swap", "SwapPss", "Locked"};
const char* const kStatmNames[] = {"size", "resident", "shared", "text",
                                   "lib",  "data",     "dt"};

constexpr size_t kMaxProcFile = 16384;

void proc_path(char* path, size_t size, pid_t pid, const char* file) {
  if (pid == 0) {
    std::snprintf(path, size, "/proc/self/%s", file);
  } else {
    std::snprintf(path, size, "/proc/%d/%s", static_cast<int>(pid), file);
  }
}

[[noreturn]] void throw_proc_error(const char* syscall, int err, const char* path,
                                   pid_t pid) {
  std::string detail = path;
  if (err == ENOENT || err == ESRCH) {
    detail += ": no process with pid " + std::to_string(pid) + " (it exited or never existed)";
  } else if (err == EACCES || err == EPERM) {
    detail += ": permission denied (the process belongs to another user)";
  }
  throw_errno(syscall, err, detail);
}

// Reads a whole proc file into buffer; returns its length.
size_t read_proc_file(pid_t pid, const char* file, char* buffer, size_t size) {
  char path[64];
  proc_path(path, sizeof path, pid, file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_proc_error("open", errno, path, pid);
  size_t length = 0;
  while (length < size) {
    ssize_t got = read(fd, buffer + length, size - length);
    if (got < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      throw_proc_error("read", err, path, pid);
    }
    if (got == 0) break;
    length += static_cast<size_t>(got);
  }
  close(fd);
  return length;
}

}  // namespace

const FieldTable kStatusFields = {kStatusNames, 17, true};
const FieldTable kSmapsRollupFields = {kSmapsRollupNames, 22, true};
const FieldTable kStatmFields = {kStatmNames, 7, false};

void parse_fields(const char* text, size_t length, const FieldTable& table, double* out) {
  for (int i = 0; i < table.count; ++i) out[i] = NAN;
  const char* end = text + length;
  const char* line = text;
  while (line < end) {
    const char* newline = static_cast<const char*>(memchr(line, '\n', end - line));
    const char* line_end = newline != nullptr ? newline : end;
    const char* colon = static_cast<const char*>(memchr(line, ':', line_end - line));
    if (colon != nullptr) {
      size_t name_length = static_cast<size_t>(colon - line);
      for (int i = 0; i < table.count; ++i) {
        const char* name = table.names[i];
        if (std::strncmp(name, line, name_length) == 0 && name[name_length] == '\0') {
          const char* p = colon + 1;
          while (p < line_end && (*p == ' ' || *p == '\t')) ++p;
          double value = 0;
          bool any = false;
          while (p < line_end && *p >= '0' && *p <= '9') {
            value = value * 10 + (*p - '0');
            any = true;
            ++p;
          }
          bool in_kb = p + 3 <= line_end && std::memcmp(p, " kB", 3) == 0;
          if (any) out[i] = in_kb ? value * 1024 : value;
          break;
        }
      }
    }
    line = line_end + 1;
  }
}

void read_status(pid_t pid, double* out) {
  char buffer[kMaxProcFile];
  size_t length = read_proc_file(pid, "status", buffer, sizeof buffer);
  parse_fields(buffer, length, kStatusFields, out);
}

void read_smaps_rollup(pid_t pid, double* out) {
  char buffer[kMaxProcFile];
  size_t length = read_proc_file(pid, "smaps_rollup", buffer, sizeof buffer);
  parse_fields(buffer, length, kSmapsRollupFields, out);
}

void read_statm(pid_t pid, double* out) {
  char buffer[256];
  size_t length;
  if (pid == 0) {
    // Kept open: statm is the cheap path, and pread on a proc fd re-generates it.
    static int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_proc_error("open", errno, "/proc/self/statm", pid);
    ssize_t got = pread(fd, buffer, sizeof buffer - 1, 0);
    if (got < 0) throw_proc_error("pread", errno, "/proc/self/statm", pid);
    length = static_cast<size_t>(got);
  } else {
    length = read_proc_file(pid, "statm", buffer, sizeof buffer - 1);
  }
  buffer[length] = '\0';
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
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
  proc_path(path, sizeof path, pid, "clear_refs");
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw_proc_error("open", errno, path, pid);
  ssize_t wrote = write(fd, "5", 1);
  int err = errno;
  close(fd);
  if (wrote != 1) throw_proc_error("write", err, path, pid);
}

}  // namespace malloclab
