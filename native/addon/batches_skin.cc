#include <cmath>
#include <string>

#include "../core/batches.h"
#include "skin.h"

namespace malloclab {

namespace {

// allocBatch(sizes: Float64Array, fills: Float64Array (-1 for none), count, calloc)
Napi::Value AllocBatch(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    if (!info[0].IsTypedArray() || !info[1].IsTypedArray()) {
      throw Error(code::kInvalidArgType, "allocBatch: sizes and fills must be Float64Arrays");
    }
    size_t length = info[0].As<Napi::TypedArray>().ElementLength();
    if (length == 0 || length > kMaxPatternLength) {
      throw Error(code::kLimitExceeded, "allocBatch: pattern must have 1 to " +
                                            std::to_string(kMaxPatternLength) + " entries");
    }
    const double* sizes = float64_arg(info, 0, "allocBatch", "sizes", length);
    const double* fills = float64_arg(info, 1, "allocBatch", "fills", length);
    PatternEntry pattern[kMaxPatternLength];
    for (size_t k = 0; k < length; ++k) {
      // Checked before the casts: NaN or an out-of-range double is undefined behaviour there.
      if (!(sizes[k] >= 0 && sizes[k] <= kMaxExact) || std::trunc(sizes[k]) != sizes[k] ||
          !(fills[k] >= -1 && fills[k] <= 255) || std::trunc(fills[k]) != fills[k]) {
        throw Error(code::kOutOfRange, "allocBatch: pattern entry " + std::to_string(k) +
                                           " needs an integer size from 0 to 2^53 - 1 and a fill "
                                           "from -1 to 255");
      }
      pattern[k] = PatternEntry{static_cast<size_t>(sizes[k]), static_cast<int>(fills[k])};
    }
    size_t count = size_arg(info, 2, "allocBatch", "count");
    BatchKind kind = info[3].ToBoolean().Value() ? BatchKind::kCalloc : BatchKind::kMalloc;
    return Napi::Number::New(
        info.Env(), set_allocate(pattern, length, count, kind, state_of(info.Env()).owner));
  });
}

uint32_t set_arg(const Napi::CallbackInfo& info, const char* function) {
  return static_cast<uint32_t>(integer_arg(info, 0, function, "set", 0, UINT32_MAX));
}

Napi::Value FreeBatch(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    size_t freed =
        set_free(set_arg(info, "freeBatch"), size_arg(info, 1, "freeBatch", "step"),
                 size_arg(info, 2, "freeBatch", "min"), size_arg(info, 3, "freeBatch", "max"));
    return Napi::Number::New(info.Env(), static_cast<double>(freed));
  });
}

Napi::Value ReleaseBatch(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    set_release(set_arg(info, "releaseBatch"));
    return info.Env().Undefined();
  });
}

Napi::Value BatchInfo(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    SetInfo set = set_info(set_arg(info, "batchInfo"));
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("blocks", static_cast<double>(set.blocks));
    result.Set("live", static_cast<double>(set.live));
    result.Set("liveBytes", static_cast<double>(set.live_bytes));
    return result;
  });
}

Napi::Value BatchAddress(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    return address_value(info.Env(), set_address(set_arg(info, "batchAddress"),
                                                 size_arg(info, 1, "batchAddress", "index")));
  });
}

}  // namespace

void register_batches(Napi::Env env, Napi::Object exports) {
  export_functions(env, exports,
                   {{"allocBatch", AllocBatch},
                    {"freeBatch", FreeBatch},
                    {"releaseBatch", ReleaseBatch},
                    {"batchInfo", BatchInfo},
                    {"batchAddress", BatchAddress}});
  exports.Set("maxBatchBlocks", Napi::Number::New(env, static_cast<double>(kMaxBatchBlocks)));
  exports.Set("maxPatternLength", Napi::Number::New(env, static_cast<double>(kMaxPatternLength)));
}

}  // namespace malloclab
