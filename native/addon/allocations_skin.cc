#include "../core/allocations.h"
#include "../core/plain_bounds.h"
#include "skin.h"

namespace malloclab {

namespace {

size_t length_arg(const Napi::CallbackInfo& info, size_t index, const char* function) {
  return info[index].IsUndefined() ? kToEnd : size_arg(info, index, function, "length");
}

uint32_t owner(const Napi::CallbackInfo& info) { return state_of(info.Env()).owner; }

Napi::Value Malloc(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    return address_value(info.Env(),
                         checked_malloc(size_arg(info, 0, "malloc", "size"), owner(info)));
  });
}

Napi::Value Calloc(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    return address_value(info.Env(),
                         checked_calloc(size_arg(info, 0, "calloc", "nmemb"),
                                        size_arg(info, 1, "calloc", "size"), owner(info)));
  });
}

Napi::Value Realloc(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    return address_value(info.Env(),
                         checked_realloc(address_arg(info, 0, "realloc", "ptr"),
                                         size_arg(info, 1, "realloc", "size"), owner(info)));
  });
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    checked_free(address_arg(info, 0, "free", "ptr"));
    return info.Env().Undefined();
  });
}

Napi::Value PosixMemalign(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    return address_value(info.Env(), checked_posix_memalign(
                                         size_arg(info, 0, "posix_memalign", "alignment"),
                                         size_arg(info, 1, "posix_memalign", "size"), owner(info)));
  });
}

Napi::Value AlignedAlloc(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    return address_value(
        info.Env(), checked_aligned_alloc(size_arg(info, 0, "aligned_alloc", "alignment"),
                                          size_arg(info, 1, "aligned_alloc", "size"), owner(info)));
  });
}

Napi::Value Memalign(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    return address_value(info.Env(),
                         checked_memalign(size_arg(info, 0, "memalign", "alignment"),
                                          size_arg(info, 1, "memalign", "size"), owner(info)));
  });
}

Napi::Value Valloc(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    return address_value(info.Env(),
                         checked_valloc(size_arg(info, 0, "valloc", "size"), owner(info)));
  });
}

Napi::Value UsableSize(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    return Napi::Number::New(info.Env(), static_cast<double>(checked_usable_size(
                                             address_arg(info, 0, "malloc_usable_size", "ptr"))));
  });
}

Napi::Value Fill(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    fill_bytes(address_arg(info, 0, "fill", "ptr"), size_arg(info, 1, "fill", "offset"),
               length_arg(info, 2, "fill"),
               static_cast<uint8_t>(integer_arg(info, 3, "fill", "value", 0, 255)));
    return info.Env().Undefined();
  });
}

Napi::Value Touch(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    touch_pages(address_arg(info, 0, "touch", "ptr"), size_arg(info, 1, "touch", "offset"),
                length_arg(info, 2, "touch"));
    return info.Env().Undefined();
  });
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Napi::Uint8Array out = bytes_arg(info, 2, "read", "out");
    read_bytes(address_arg(info, 0, "read", "ptr"), size_arg(info, 1, "read", "offset"),
               out.ElementLength(), out.Data());
    return info.Env().Undefined();
  });
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    Napi::Uint8Array in = bytes_arg(info, 2, "write", "data");
    write_bytes(address_arg(info, 0, "write", "ptr"), size_arg(info, 1, "write", "offset"),
                in.Data(), in.ElementLength());
    return info.Env().Undefined();
  });
}

// The hot pair, malloc and free, are plain napi_callbacks: the argument is read
// with one N-API call, the owner comes from the function's data, and there is no
// CallbackInfo (which fetches six arguments). Anything unusual (a wrong type, a
// value out of range, a missing argument) goes to the general callback above, so
// every error is exactly the one it always was. The registry check stays.
napi_value FastMalloc(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value arg;
  void* data = nullptr;
  double size = -1;
  if (napi_get_cb_info(env, cbinfo, &argc, &arg, nullptr, &data) != napi_ok ||
      napi_get_value_double(env, arg, &size) != napi_ok || !(size >= 0 && size <= kMaxExact) ||
      static_cast<double>(static_cast<uint64_t>(size)) != size) {
    return Malloc(Napi::CallbackInfo(env, cbinfo));
  }
  uint32_t owner = static_cast<const AddonState*>(data)->owner;
  return guarded_in<napi_value>(
      Napi::Env(env),
      [&]() -> napi_value {
        uintptr_t address = checked_malloc(static_cast<size_t>(size), owner);
        napi_value result = nullptr;
        napi_create_bigint_uint64(env, static_cast<uint64_t>(address), &result);
        return result;
      },
      nullptr);
}

napi_value FastFree(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value arg;
  uint64_t address = 0;
  bool lossless = false;
  if (napi_get_cb_info(env, cbinfo, &argc, &arg, nullptr, nullptr) != napi_ok ||
      napi_get_value_bigint_uint64(env, arg, &address, &lossless) != napi_ok || !lossless) {
    return Free(Napi::CallbackInfo(env, cbinfo));
  }
  return guarded_in<napi_value>(
      Napi::Env(env),
      [&]() -> napi_value {
        checked_free(static_cast<uintptr_t>(address));
        return nullptr;  // undefined
      },
      nullptr);
}

Napi::Function raw_function(Napi::Env env, const char* name, napi_callback callback) {
  napi_value function = nullptr;
  napi_status status =
      napi_create_function(env, name, NAPI_AUTO_LENGTH, callback, &state_of(env), &function);
  NAPI_FATAL_IF_FAILED(status, "register_allocations", "napi_create_function");
  return Napi::Function(env, function);
}

Napi::Value RegistryStats(const Napi::CallbackInfo& info) {
  Registry& registry = Registry::instance();
  std::lock_guard<std::mutex> lock(registry.mutex());
  Napi::Object stats = Napi::Object::New(info.Env());
  stats.Set("liveBlocks", static_cast<double>(registry.live_count()));
  stats.Set("liveBytes", static_cast<double>(registry.live_bytes()));
  return stats;
}

}  // namespace

void register_allocations(Napi::Env env, Napi::Object exports) {
  exports.Set("malloc", raw_function(env, "malloc", FastMalloc));
  export_functions(env, exports, {{"calloc", Calloc}, {"realloc", Realloc}});
  exports.Set("free", raw_function(env, "free", FastFree));
  export_functions(env, exports,
                   {{"posix_memalign", PosixMemalign},
                    {"aligned_alloc", AlignedAlloc},
                    {"memalign", Memalign},
                    {"valloc", Valloc},
                    {"malloc_usable_size", UsableSize},
                    {"fill", Fill},
                    {"touch", Touch},
                    {"read", Read},
                    {"write", Write},
                    {"registryStats", RegistryStats}});
}

}  // namespace malloclab
