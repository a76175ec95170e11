#include "plain_stack.h"

#include <alloca.h>
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "plain_pages.h"

namespace malloclab {

namespace {

// Half of RLIMIT_STACK at most: the frames around the block must still fit.
bool fits_on_stack(size_t bytes) {
  if (bytes > kMaxStackBytes) return false;
  rlimit limit;
  if (getrlimit(RLIMIT_STACK, &limit) != 0) return false;
  return limit.rlim_cur == RLIM_INFINITY || bytes <= limit.rlim_cur / 2;
}

// One byte per page, from the block's top down: the order the stack grows into it.
void write_down(char* block, size_t size) {
  size_t page = page_size();
  volatile char* bytes = block;
  for (size_t offset = size; offset > 0;) {
    offset = offset > page ? offset - page : 0;
    bytes[offset] = 1;
  }
  if (size > 0) bytes[size - 1] = 1;
}

// Hides where a pointer came from, so the compiler neither warns about nor folds
// the deliberate free() of stack memory.
template <typename T>
T* opaque(T* pointer) {
  asm volatile("" : "+r"(pointer));
  return pointer;
}

__attribute__((noinline)) uintptr_t alloca_and_return(size_t size) {
  char* block = static_cast<char*>(alloca(size));
  write_down(block, size);
  return reinterpret_cast<uintptr_t>(opaque(block));
}

__attribute__((noinline)) uintptr_t alloca_then_release(size_t size, int call) {
  char* block = opaque(static_cast<char*>(alloca(size)));
  memset(block, 0, size);
  uintptr_t address = reinterpret_cast<uintptr_t>(block);
  if (call == 1) return reinterpret_cast<uintptr_t>(realloc(block, 2 * size));
  free(block);
  return address;
}

struct Descent {
  jmp_buf back;
  size_t size;
  uintptr_t deepest;
  size_t leaked;
  void* blocks[kMaxDescentDepth];
};

__attribute__((noinline)) void descend(Descent* descent, size_t level) {
  if (level == 0) return;  // (the op starts at depth >= 1)
  void* heap = malloc(descent->size);
  if (heap != nullptr) {
    memset(heap, 1, descent->size);
    descent->blocks[descent->leaked++] = heap;
  }
  char* stack = static_cast<char*>(alloca(descent->size));
  write_down(stack, descent->size);
  if (level <= 1) {
    descent->deepest = reinterpret_cast<uintptr_t>(opaque(stack));
    longjmp(descent->back, 1);
  }
  descend(descent, level - 1);
  free(heap);  // never reached: the longjmp skips it, as it would a signal handler's
}

}  // namespace

int stack_alloca(size_t size, double* address, double* caller_frame) {
  if (!fits_on_stack(size)) return ENOMEM;
  volatile char here = 0;
  *caller_frame = static_cast<double>(reinterpret_cast<uintptr_t>(&here));
  *address = static_cast<double>(alloca_and_return(size));
  return 0;
}

int stack_alloca_misuse(size_t size, int call, double* result) {
  if (!fits_on_stack(size)) return ENOMEM;
  *result = static_cast<double>(alloca_then_release(size, call));
  return 0;
}

int stack_longjmp_leak(size_t depth, size_t size, double* bytes, double* deepest) {
  if (depth == 0 || depth > kMaxDescentDepth || !fits_on_stack(depth * size)) return ENOMEM;
  Descent descent;
  descent.size = size;
  descent.deepest = 0;
  descent.leaked = 0;
  if (setjmp(descent.back) == 0) descend(&descent, depth);
  *bytes = static_cast<double>(descent.leaked * size);
  *deepest = static_cast<double>(descent.deepest);
  return 0;
}

}  // namespace malloclab
