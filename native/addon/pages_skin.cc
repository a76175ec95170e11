#include "../core/pages.h"
#include "skin.h"

namespace malloclab {

namespace {

Napi::Value PageSize(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(page_size()));
}

Napi::Value Mincore(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Napi::Uint8Array vector = bytes_arg(info, 2, "mincore", "vec");
    size_t resident = checked_mincore(address_arg(info, 0, "mincore", "addr"),
                                      size_arg(info, 1, "mincore", "length"), vector.Data(),
                                      vector.ElementLength());
    return Napi::Number::New(info.Env(), static_cast<double>(resident));
  });
}

Napi::Value Madvise(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    checked_madvise(address_arg(info, 0, "madvise", "addr"), size_arg(info, 1, "madvise", "length"),
                    static_cast<int>(integer_arg(info, 2, "madvise", "advice", 0, 1000)));
    return info.Env().Undefined();
  });
}

Napi::Value Mlock(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    checked_mlock(address_arg(info, 0, "mlock", "addr"), size_arg(info, 1, "mlock", "length"));
    return info.Env().Undefined();
  });
}

Napi::Value Munlock(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    checked_munlock(address_arg(info, 0, "munlock", "addr"),
                    size_arg(info, 1, "munlock", "length"));
    return info.Env().Undefined();
  });
}

Napi::Value Mmap(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    return address_value(
        info.Env(), checked_mmap(size_arg(info, 0, "mmap", "length"), info[1].ToBoolean().Value(),
                                 state_of(info.Env()).owner));
  });
}

Napi::Value Munmap(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    checked_munmap(address_arg(info, 0, "munmap", "addr"), size_arg(info, 1, "munmap", "length"));
    return info.Env().Undefined();
  });
}

}  // namespace

void register_pages(Napi::Env env, Napi::Object exports) {
  export_functions(env, exports,
                   {{"pageSize", PageSize},
                    {"mincore", Mincore},
                    {"madvise", Madvise},
                    {"mlock", Mlock},
                    {"munlock", Munlock},
                    {"mmap", Mmap},
                    {"munmap", Munmap}});
  exports.Set("madviseAdvice", named_values(env, kMadviseAdvice));
}

}  // namespace malloclab
