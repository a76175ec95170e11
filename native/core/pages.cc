#include "pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>

#include "allocations.h"
#include "errors.h"
#include "plain.h"
#include "plain_pages.h"
#include "registry.h"

namespace malloclab {

namespace {

using Lock = std::lock_guard<std::mutex>;

void require_page_aligned(uintptr_t address, const char* function) {
  if ((address & (page_size() - 1)) != 0) {
    throw Error(code::kUnaligned,
                std::string(function) + ": address " + hex(address) +
                    " is not page-aligned (expected a multiple of " + std::to_string(page_size()) +
                    "; round down with address & ~" + std::to_string(page_size() - 1) + ")",
                EINVAL, function);
  }
}

// The live region holding [address, address + length), or a thrown error.
Region& require_owned_range(Registry& registry, uintptr_t address, size_t length,
                            const char* function) {
  Region* region = registry.find_live(address);
  if (region == nullptr) {
    registry.for_each_live([&](Region& candidate) {
      if (address > candidate.address && address < candidate.address + candidate.size) {
        region = &candidate;
        return false;
      }
      return true;
    });
  }
  if (region == nullptr) {
    throw Error(code::kNotOwned,
                std::string(function) + ": address " + hex(address) +
                    " is not inside a live block or mapping of malloc-lab (expected "
                    "memory this library returned; it only changes memory it owns)");
  }
  require_inside(*region, address - region->address, length, function);
  return *region;
}

}  // namespace

size_t checked_mincore(uintptr_t address, size_t length, uint8_t* vector, size_t vector_length) {
  require_page_aligned(address, "mincore");
  size_t pages = round_up_to_page(length) / page_size();
  if (vector_length < pages) {
    throw Error(code::kOutOfRange, "mincore: vector holds " + std::to_string(vector_length) +
                                       " entries (expected at least " + std::to_string(pages) +
                                       ")");
  }
  if (length == 0) return 0;
  size_t resident = 0;
  int err = count_resident(address, length, vector, vector_length, &resident);
  if (err != 0) {
    throw_errno("mincore", err,
                err == ENOMEM ? "part of [" + hex(address) + ", +" + std::to_string(length) +
                                    ") is not mapped"
                              : "");
  }
  return resident;
}

void checked_madvise(uintptr_t address, size_t length, int advice) {
  if (!is_known_madvise_advice(advice)) {
    throw Error(code::kOutOfRange,
                "madvise: advice " + std::to_string(advice) +
                    " is not supported (expected one of the MADV_* names malloc-lab lists)");
  }
  require_page_aligned(address, "madvise");
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  // The kernel acts on whole pages: the rounded-up length must stay ours too.
  require_owned_range(registry, address, round_up_to_page(length), "madvise");
  if (madvise(reinterpret_cast<void*>(address), length, advice) != 0) {
    throw_errno("madvise", errno, "");
  }
}

void checked_mlock(uintptr_t address, size_t length) {
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  require_owned_range(registry, address, length, "mlock");
  if (mlock(reinterpret_cast<void*>(address), length) != 0) {
    int err = errno;
    throw_errno("mlock", err,
                err == ENOMEM || err == EPERM || err == EAGAIN
                    ? "check RLIMIT_MEMLOCK (ulimit -l) or CAP_IPC_LOCK"
                    : "");
  }
}

void checked_munlock(uintptr_t address, size_t length) {
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  require_owned_range(registry, address, length, "munlock");
  if (munlock(reinterpret_cast<void*>(address), length) != 0) {
    throw_errno("munlock", errno, "");
  }
}

uintptr_t checked_mmap(size_t length, bool populate, uint32_t owner) {
  if (length == 0) {
    throw Error(code::kOutOfRange, "mmap: length must be greater than 0, received 0", EINVAL,
                "mmap");
  }
  void* address = mmap(nullptr, length, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1, 0);
  if (address == MAP_FAILED) {
    throw_errno("mmap", errno, "length " + std::to_string(length));
  }
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  registry.insert(reinterpret_cast<uintptr_t>(address), length, RegionKind::kMapping, owner);
  return reinterpret_cast<uintptr_t>(address);
}

void checked_munmap(uintptr_t address, size_t length) {
  Registry& registry = Registry::instance();
  Lock lock(registry.mutex());
  Region& region = require_live(registry, address, "munmap", "address");
  if (region.kind != RegionKind::kMapping) {
    throw Error(code::kNotOwned,
                "munmap: address " + hex(address) + " is a " + region_kind_name(region.kind) +
                    " region, not a mapping (expected an address from malloc-lab's mmap)");
  }
  if (length != region.size) {
    throw Error(code::kOutOfBounds,
                "munmap: length " + std::to_string(length) + " does not match the mapping's " +
                    std::to_string(region.size) + " bytes (expected the whole mapping)");
  }
  if (munmap(reinterpret_cast<void*>(address), length) != 0) {
    throw_errno("munmap", errno, "");
  }
  registry.mark_freed(&region);
}

}  // namespace malloclab
