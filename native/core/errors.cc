#include "errors.h"

#include <cstdio>

namespace malloclab {

std::string hex(uintptr_t address) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%lx", static_cast<unsigned long>(address));
  return text;
}

std::string hex(const void* address) { return hex(reinterpret_cast<uintptr_t>(address)); }

}  // namespace malloclab
