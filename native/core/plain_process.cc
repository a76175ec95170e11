#include "plain_process.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plain.h"
#include "plain_pages.h"

namespace malloclab {

namespace {

double nanoseconds(clockid_t clock) {
  timespec now;
  clock_gettime(clock, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

// A field of this process's status by name (bytes), NaN when unreadable.
double own_status(const char* name) {
  double fields[32];
  if (read_status_plain(0, fields) != 0) return NAN;
  for (int i = 0; i < kStatusFields.count; ++i)
    if (strcmp(kStatusFields.names[i], name) == 0) return fields[i];
  return NAN;
}

bool write_all(int fd, const void* data, size_t length) {
  const char* at = static_cast<const char*>(data);
  while (length > 0) {
    ssize_t wrote = send(fd, at, length, MSG_NOSIGNAL);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return false;
    at += wrote;
    length -= static_cast<size_t>(wrote);
  }
  return true;
}

bool read_all(int fd, void* data, size_t length) {
  char* at = static_cast<char*>(data);
  while (length > 0) {
    ssize_t got = read(fd, at, length);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    at += got;
    length -= static_cast<size_t>(got);
  }
  return true;
}

// Bytes in use in the heap and in mmap'd chunks (through read_mallinfo2: mallinfo2 where
// this glibc has it).
double heap_in_use() {
  double fields[kMallinfoFields];
  read_mallinfo2(fields);
  return fields[kMallinfoUordblks] + fields[kMallinfoHblkhd];
}

// The child: allocate, report, wait for the word, maybe free, report, _exit. It
// never returns into the interpreter (nor runs exit handlers: _exit).
[[noreturn]] void child_main(int socket, size_t count, size_t size, bool spacer, bool fill) {
  int byte = fill ? 1 : -1;
  PatternEntry pattern[2] = {{size, byte}, {1, byte}};
  size_t per_round = spacer ? 2 : 1;
  size_t entries = count * per_round;
  uintptr_t* blocks =
      entries > 0 ? static_cast<uintptr_t*>(map_plain(entries * sizeof(uintptr_t))) : nullptr;
  double before = heap_in_use();
  size_t made = blocks != nullptr
                    ? allocate_pattern(blocks, pattern, per_round, count, BatchKind::kMalloc)
                    : 0;
  double report[3] = {own_status("RssAnon"), heap_in_use() - before,
                      nanoseconds(CLOCK_PROCESS_CPUTIME_ID)};
  if (!write_all(socket, report, sizeof report)) _exit(3);
  char command = 0;
  if (read_all(socket, &command, 1) && command == 'f' && made > 0)
    free_by_rule(blocks, made, 1, 1, made);
  double after = own_status("RssAnon");
  write_all(socket, &after, sizeof after);
  _exit(made == entries ? 0 : 1);
}

}  // namespace

void process_clock(double* monotonic, double* cpu) {
  *monotonic = nanoseconds(CLOCK_MONOTONIC);
  *cpu = nanoseconds(CLOCK_THREAD_CPUTIME_ID);
}

int process_heap_range(double* start, double* end) {
  char text[4096];
  ssize_t length = read_proc_file(0, "stat", text, sizeof text - 1);
  if (length < 0) return static_cast<int>(-length);
  text[length] = '\0';
  // Fields after the command (which may hold spaces) start at field 3, the state.
  char* at = strrchr(text, ')');
  if (at == nullptr) return EIO;
  at += 2;
  for (int field = 3; field < 47; ++field) {
    at = strchr(at, ' ');
    if (at == nullptr) return EIO;
    ++at;
  }
  *start = strtod(at, nullptr);
  *end = static_cast<double>(reinterpret_cast<uintptr_t>(sbrk(0)));
  return 0;
}

int process_pss(double* pss_anon, double* pss) {
  char text[16384];
  ssize_t length = read_proc_file(0, "smaps_rollup", text, sizeof text);
  if (length < 0) return static_cast<int>(-length);
  double fields[32];
  parse_fields(text, static_cast<size_t>(length), kSmapsRollupFields, fields);
  *pss_anon = NAN;
  *pss = NAN;
  for (int i = 0; i < kSmapsRollupFields.count; ++i) {
    if (strcmp(kSmapsRollupFields.names[i], "Pss_Anon") == 0) *pss_anon = fields[i];
    if (strcmp(kSmapsRollupFields.names[i], "Pss") == 0) *pss = fields[i];
  }
  return isnan(*pss) ? EIO : 0;
}

bool is_limited_resource(double resource) {
  return resource == RLIMIT_DATA || resource == RLIMIT_AS;
}

int process_limit(int resource, size_t headroom, double* limit, double* usage) {
  double used = own_status(resource == RLIMIT_DATA ? "VmData" : "VmSize");
  if (isnan(used)) return EIO;
  rlimit old;
  if (prlimit(0, static_cast<__rlimit_resource>(resource), nullptr, &old) != 0) return errno;
  rlimit lowered = old;
  lowered.rlim_cur = static_cast<rlim_t>(used) + headroom;
  if (old.rlim_max != RLIM_INFINITY && lowered.rlim_cur > old.rlim_max) return EPERM;
  if (prlimit(0, static_cast<__rlimit_resource>(resource), &lowered, nullptr) != 0) return errno;
  *limit = static_cast<double>(lowered.rlim_cur);
  *usage = used;
  return 0;
}

int process_map_above_break(size_t gap, uintptr_t* address, size_t* length) {
  size_t page = page_size();
  uintptr_t top = round_up_to_page(reinterpret_cast<uintptr_t>(sbrk(0)));
  uintptr_t wall = top + round_up_to_page(gap);
  void* mapped = mmap(reinterpret_cast<void*>(wall), page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (mapped == MAP_FAILED) return errno;
  if (mapped != reinterpret_cast<void*>(wall)) {  // a kernel before 4.17 took it as a hint
    munmap(mapped, page);
    return EEXIST;
  }
  *address = wall;
  *length = page;
  return 0;
}

int child_hold(Child& child, size_t count, size_t size, bool spacer, bool fill, double* rss,
               double* growth) {
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) return errno;
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(sockets[0]);
    close(sockets[1]);
    return err;
  }
  if (pid == 0) {
    close(sockets[0]);
    child_main(sockets[1], count, size, spacer, fill);
  }
  close(sockets[1]);
  child.pid = pid;
  child.socket = sockets[0];
  double report[3];
  if (!read_all(child.socket, report, sizeof report)) {
    child_reap(child);
    return ECHILD;
  }
  *rss = report[0];
  *growth = report[1];
  child.cpu_at_hold = report[2];
  return 0;
}

int child_exit(Child& child, bool free_first, double* rss, double* exited) {
  char command = free_first ? 'f' : 'x';
  double after = NAN;
  bool told = write_all(child.socket, &command, 1) && read_all(child.socket, &after, sizeof after);
  close(child.socket);
  child.socket = -1;
  *rss = after;
  // Wait for the exit but leave the child a zombie: its /proc entry stays readable.
  siginfo_t info;
  while (waitid(P_PID, static_cast<id_t>(child.pid), &info, WEXITED | WNOWAIT) != 0) {
    if (errno != EINTR) return errno;
  }
  char text[256];
  ssize_t length = read_proc_file(child.pid, "statm", text, sizeof text - 1);
  if (length < 0) return static_cast<int>(-length);
  text[length] = '\0';
  // statm: size resident shared ..., in pages.
  char* resident = strchr(text, ' ');
  *exited =
      resident == nullptr ? NAN : strtod(resident + 1, nullptr) * static_cast<double>(page_size());
  return told ? 0 : ECHILD;
}

int child_reap_timed(Child& child, double* cpu, double* status) {
  int code = 0;
  rusage usage{};
  while (wait4(child.pid, &code, 0, &usage) < 0) {
    if (errno != EINTR) return errno;
  }
  child.pid = 0;
  double seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec);
  double micros = static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  *cpu = seconds * 1e9 + micros * 1e3 - child.cpu_at_hold;
  *status = WIFEXITED(code) ? WEXITSTATUS(code) : -WTERMSIG(code);
  return WIFEXITED(code) && WEXITSTATUS(code) == 0 ? 0 : ECHILD;
}

void child_reap(Child& child) {
  if (child.pid == 0) return;
  if (child.socket >= 0) close(child.socket);
  int status;
  while (waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  child.pid = 0;
}

}  // namespace malloclab
