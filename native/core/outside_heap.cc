#include "outside_heap.h"

#include <sys/mman.h>

#include <cerrno>

#include "errors.h"
#include "plain_pages.h"

namespace malloclab {

void* map_private(size_t bytes) {
  void* address = mmap(nullptr, round_up_to_page(bytes), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (address == MAP_FAILED) throw_errno("mmap", errno, "bookkeeping memory");
  return address;
}

void unmap_private(void* address, size_t bytes) { munmap(address, round_up_to_page(bytes)); }

void* remap_private(void* address, size_t old_bytes, size_t new_bytes) {
  void* moved =
      mremap(address, round_up_to_page(old_bytes), round_up_to_page(new_bytes), MREMAP_MAYMOVE);
  if (moved == MAP_FAILED) throw_errno("mremap", errno, "bookkeeping memory");
  return moved;
}

}  // namespace malloclab
