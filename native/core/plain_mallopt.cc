#include "plain_mallopt.h"

#include <malloc.h>

namespace malloclab {

namespace {
const NamedValue kParams[] = {
    {"M_MXFAST", M_MXFAST},       {"M_TRIM_THRESHOLD", M_TRIM_THRESHOLD},
    {"M_TOP_PAD", M_TOP_PAD},     {"M_MMAP_THRESHOLD", M_MMAP_THRESHOLD},
    {"M_MMAP_MAX", M_MMAP_MAX},   {"M_CHECK_ACTION", M_CHECK_ACTION},
    {"M_PERTURB", M_PERTURB},     {"M_ARENA_TEST", M_ARENA_TEST},
    {"M_ARENA_MAX", M_ARENA_MAX},
};
}  // namespace

const NamedValues kMalloptParams = named_table(kParams);

bool is_known_mallopt_parameter(int parameter) {
  return find_value(kMalloptParams, parameter) != nullptr;
}

}  // namespace malloclab
