#include "../core/heap.h"
#include "../core/plain_bounds.h"
#include "../core/plain_mallopt.h"
#include "skin.h"

namespace malloclab {

namespace {

Napi::Value ProgramBreak(const Napi::CallbackInfo& info) {
  return address_value(info.Env(), program_break());
}

Napi::Value Sbrk(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    int64_t increment =
        integer_arg(info, 0, "sbrk", "increment", -kMaxExactInteger, kMaxExactInteger);
    return address_value(
        info.Env(), checked_sbrk(static_cast<intptr_t>(increment), state_of(info.Env()).owner));
  });
}

Napi::Value Mallopt(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    checked_mallopt(
        static_cast<int>(integer_arg(info, 0, "mallopt", "param", INT32_MIN, INT32_MAX)),
        static_cast<int>(integer_arg(info, 1, "mallopt", "value", INT32_MIN, INT32_MAX)));
    return info.Env().Undefined();
  });
}

Napi::Value MallocTrim(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    return Napi::Number::New(info.Env(), trim(size_arg(info, 0, "malloc_trim", "pad")));
  });
}

Napi::Value Mallinfo2(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    read_mallinfo2(float64_arg(info, 0, "mallinfo2", "out", kMallinfoFields));
    return info.Env().Undefined();
  });
}

Napi::Value MallinfoSourceName(const Napi::CallbackInfo& info) {
  return Napi::String::New(
      info.Env(), mallinfo_source() == MallinfoSource::kMallinfo2 ? "mallinfo2" : "mallinfo");
}

Napi::Value MallocInfo(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    std::string xml = capture_malloc_info();
    return Napi::String::New(info.Env(), xml);
  });
}

Napi::Value MallocStats(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    std::string text = capture_malloc_stats();
    return Napi::String::New(info.Env(), text);
  });
}

Napi::Value LibcVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), libc_version());
}

}  // namespace

void register_heap(Napi::Env env, Napi::Object exports) {
  export_functions(env, exports,
                   {{"programBreak", ProgramBreak},
                    {"sbrk", Sbrk},
                    {"mallopt", Mallopt},
                    {"malloc_trim", MallocTrim},
                    {"mallinfo2", Mallinfo2},
                    {"mallinfoSource", MallinfoSourceName},
                    {"malloc_info", MallocInfo},
                    {"malloc_stats", MallocStats},
                    {"gnu_get_libc_version", LibcVersion}});
  Napi::Array names = Napi::Array::New(env, kMallinfoFields);
  for (int i = 0; i < kMallinfoFields; ++i) names.Set(i, kMallinfoFieldNames[i]);
  exports.Set("mallinfoFields", names);
  exports.Set("malloptParams", named_values(env, kMalloptParams));
}

}  // namespace malloclab
