#include "heap.h"

#include <gnu/libc-version.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "errors.h"
#include "outside_heap.h"
#include "plain_break.h"
#include "plain_mallopt.h"
#include "plain_stats.h"
#include "registry.h"

namespace malloclab {

namespace {

// The segments this library took with sbrk, most recent last.
OutsideVector<BreakSegment>& break_ledger() {
  static OutsideVector<BreakSegment>* ledger =
      new (map_private(sizeof(OutsideVector<BreakSegment>))) OutsideVector<BreakSegment>();
  return *ledger;
}

[[noreturn]] void refuse_shrink(BreakRefusal refusal, intptr_t increment, const BreakSegment* top,
                                uintptr_t current) {
  switch (refusal) {
    case BreakRefusal::kNothingTaken:
      throw Error(code::kSbrkRefused,
                  "sbrk: increment " + std::to_string(increment) +
                      " would cut into the allocator's heap (expected a negative "
                      "increment only to give back memory an earlier sbrk of malloc-lab "
                      "took; it took none)");
    case BreakRefusal::kBreakMoved:
      throw Error(code::kSbrkRefused,
                  "sbrk: the break moved from " + hex(top->start + top->size) + " to " +
                      hex(current) +
                      " since malloc-lab's last sbrk, so shrinking it would cut into "
                      "memory malloc now uses (expected the break to be where sbrk left it)");
    default:
      throw Error(code::kSbrkRefused,
                  "sbrk: increment " + std::to_string(increment) + " gives back more than the " +
                      std::to_string(top->size) +
                      " bytes malloc-lab's last sbrk took (expected a value >= -" +
                      std::to_string(top->size) + ")");
  }
}

}  // namespace

uintptr_t program_break() { return reinterpret_cast<uintptr_t>(sbrk(0)); }

uintptr_t checked_sbrk(intptr_t increment, uint32_t owner) {
  Registry& registry = Registry::instance();
  std::lock_guard<std::mutex> lock(registry.mutex());
  OutsideVector<BreakSegment>& ledger = break_ledger();
  if (increment == 0) return program_break();
  if (increment > 0) {
    errno = 0;
    void* previous = sbrk(increment);
    if (previous == reinterpret_cast<void*>(-1)) {
      throw_errno("sbrk", errno == 0 ? ENOMEM : errno, "increment " + std::to_string(increment));
    }
    uintptr_t start = reinterpret_cast<uintptr_t>(previous);
    ledger.push_back(BreakSegment{start, static_cast<size_t>(increment)});
    registry.insert(start, static_cast<size_t>(increment), RegionKind::kBreak, owner);
    return start;
  }
  uintptr_t current = program_break();
  size_t give_back = give_back_of(increment);
  BreakSegment* top = ledger.size() == 0 ? nullptr : &ledger[ledger.size() - 1];
  BreakRefusal refusal = check_break_shrink(top, current, give_back);
  if (refusal != BreakRefusal::kNone) refuse_shrink(refusal, increment, top, current);
  errno = 0;
  void* previous = sbrk(increment);
  if (previous == reinterpret_cast<void*>(-1)) {
    throw_errno("sbrk", errno == 0 ? ENOMEM : errno, "increment " + std::to_string(increment));
  }
  Region* region = registry.find_live(top->start);
  if (shrink_segment(top, give_back)) {
    if (region != nullptr) registry.mark_freed(region);
    ledger.resize(ledger.size() - 1);
  } else if (region != nullptr) {
    registry.move(region, top->start, top->size);
  }
  return reinterpret_cast<uintptr_t>(previous);
}

void checked_mallopt(int parameter, int value) {
  if (!is_known_mallopt_parameter(parameter)) {
    std::string known;
    for (int i = 0; i < kMalloptParams.count; ++i) {
      const NamedValue& entry = kMalloptParams.entries[i];
      known += (i == 0 ? "" : ", ") + std::string(entry.name) + " " + std::to_string(entry.value);
    }
    throw Error(code::kUnknownMalloptParam,
                "mallopt: param " + std::to_string(parameter) +
                    " is not a parameter glibc acts on (expected one of " + known + ")");
  }
  if (mallopt(parameter, value) == 0) {
    throw Error(code::kMalloptRejected,
                "mallopt: glibc rejected value " + std::to_string(value) + " for param " +
                    std::to_string(parameter) +
                    " (it returned 0; see mallopt(3) for the accepted range)",
                EINVAL, "mallopt");
  }
}

int trim(size_t pad) { return malloc_trim(pad); }

std::string capture_malloc_info() {
  char* text = nullptr;
  size_t length = 0;
  FILE* stream = open_memstream(&text, &length);
  if (stream == nullptr) throw_errno("open_memstream", errno, "malloc_info capture");
  int result = malloc_info(0, stream);
  int saved = errno;
  fclose(stream);
  std::string xml(text == nullptr ? "" : text, length);
  free(text);
  if (result != 0) throw_errno("malloc_info", saved, "");
  return xml;
}

std::string capture_malloc_stats() {
  const char* failed_call = "";
  int memfd = capture_malloc_stats_fd(&failed_call);
  if (memfd < 0) throw_errno(failed_call, -memfd, "malloc_stats capture");
  std::string text;
  char buffer[4096];
  off_t offset = 0;
  for (;;) {
    ssize_t got = pread(memfd, buffer, sizeof buffer, offset);
    if (got <= 0) break;
    text.append(buffer, static_cast<size_t>(got));
    offset += got;
  }
  close(memfd);
  return text;
}

const char* libc_version() { return gnu_get_libc_version(); }

}  // namespace malloclab
