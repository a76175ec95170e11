#include "outside_heap.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "errors.h"

namespace malloclab {

namespace {
size_t round_to_pages(size_t bytes) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) & ~(page - 1);
}
}  // namespace

void* map_private(size_t bytes) {
  void* address = mmap(nullptr, round_to_pages(bytes), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (address == MAP_FAILED) throw_errno("mmap", errno, "bookkeeping memory");
  return address;
}

void unmap_private(void* address, size_t bytes) { munmap(address, round_to_pages(bytes)); }

void* remap_private(void* address, size_t old_bytes, size_t new_bytes) {
  void* moved =
      mremap(address, round_to_pages(old_bytes), round_to_pages(new_bytes), MREMAP_MAYMOVE);
  if (moved == MAP_FAILED) throw_errno("mremap", errno, "bookkeeping memory");
  return moved;
}

}  // namespace malloclab
