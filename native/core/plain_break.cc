#include "plain_break.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

namespace malloclab {

size_t give_back_of(intptr_t increment) { return static_cast<size_t>(-(increment + 1)) + 1; }

BreakRefusal check_break_shrink(const BreakSegment* top, uintptr_t current, size_t give_back) {
  if (top == nullptr) return BreakRefusal::kNothingTaken;
  if (top->start + top->size != current) return BreakRefusal::kBreakMoved;
  if (give_back > top->size) return BreakRefusal::kTooMuch;
  return BreakRefusal::kNone;
}

bool shrink_segment(BreakSegment* top, size_t give_back) {
  top->size -= give_back;
  return top->size == 0;
}

namespace {

// The address a maps line starts with ("55d0c000-55d2d000 rw-p ...").
uintptr_t line_start(const char* line, const char* end) {
  uintptr_t address = 0;
  for (; line < end; ++line) {
    char c = *line;
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) break;
    address = address * 16 + static_cast<uintptr_t>(digit);
  }
  return address;
}

}  // namespace

int break_room(uintptr_t* program_break, uintptr_t* next_mapping) {
  uintptr_t brk = reinterpret_cast<uintptr_t>(sbrk(0));
  *program_break = brk;
  *next_mapping = 0;
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  // Lines are sorted by address and only each line's start matters: an unfinished
  // line moves to the front for the next read; one longer than the buffer (a long
  // path) is judged by its start and the rest of it skipped.
  char buffer[4096];
  size_t kept = 0;
  bool skipping = false;
  for (;;) {
    ssize_t got = read(fd, buffer + kept, sizeof buffer - kept);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int err = errno;
      close(fd);
      return err;
    }
    size_t length = kept + static_cast<size_t>(got);
    size_t at = 0;
    while (at < length) {
      size_t end = at;
      while (end < length && buffer[end] != '\n') ++end;
      bool unfinished = end == length && got > 0;
      if (unfinished && at > 0) break;
      if (!skipping) {
        uintptr_t start = line_start(buffer + at, buffer + end);
        if (start >= brk) {
          *next_mapping = start;
          close(fd);
          return 0;
        }
      }
      skipping = unfinished;
      at = unfinished ? length : end + 1;
    }
    if (got == 0) break;
    kept = length - (at < length ? at : length);
    for (size_t i = 0; i < kept; ++i) buffer[i] = buffer[at + i];
  }
  close(fd);
  return 0;
}

}  // namespace malloclab
