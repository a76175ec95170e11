// Shared pieces of the N-API skin: argument conversion and error throwing.
// The skin converts and forwards; policy lives in the core, messages in lib/.
#pragma once

#include <napi.h>

#include <cstdint>
#include <initializer_list>

#include "../core/errors.h"
#include "../core/plain.h"

namespace malloclab {

// Per-environment state (main thread or a Worker).
struct AddonState {
  uint32_t owner;
  Napi::FunctionReference error_class;  // MallocLabError, set by lib/native.ts
};

AddonState& state_of(Napi::Env env);

// Throws a JS error (MallocLabError once configured) built from a core Error.
void throw_error(Napi::Env env, const Error& error);

// Runs body, turning a core Error into a pending JS exception; then returns
// fallback (what a throwing call returns: undefined, or nullptr for raw callbacks).
template <typename Result, typename Body>
Result guarded_in(Napi::Env env, Body body, Result fallback) {
  try {
    return body();
  } catch (const Error& error) {
    throw_error(env, error);
  } catch (const std::bad_alloc&) {
    throw_error(env, Error("ENOMEM", "out of memory in malloc-lab", ENOMEM));
  }
  return fallback;
}

template <typename Body>
Napi::Value guarded(const Napi::CallbackInfo& info, Body body) {
  return guarded_in<Napi::Value>(info.Env(), body, info.Env().Undefined());
}

// Conversions throw Error(ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE) naming the parameter.
uintptr_t address_arg(const Napi::CallbackInfo& info, size_t index, const char* function,
                      const char* parameter);
size_t size_arg(const Napi::CallbackInfo& info, size_t index, const char* function,
                const char* parameter);
int64_t integer_arg(const Napi::CallbackInfo& info, size_t index, const char* function,
                    const char* parameter, int64_t min, int64_t max);
// A Float64Array with at least `count` elements.
double* float64_arg(const Napi::CallbackInfo& info, size_t index, const char* function,
                    const char* parameter, size_t count);
Napi::Uint8Array bytes_arg(const Napi::CallbackInfo& info, size_t index, const char* function,
                           const char* parameter);

// Sets each function on exports under its name (the JS function's name too).
struct Export {
  const char* name;
  Napi::Value (*callback)(const Napi::CallbackInfo&);
};
void export_functions(Napi::Env env, Napi::Object exports, std::initializer_list<Export> functions);

// {name: value} of a plain-layer table (mallopt parameters, madvise advice, ...), for lib/.
Napi::Object named_values(Napi::Env env, const NamedValues& table);

inline Napi::Value address_value(Napi::Env env, uintptr_t address) {
  return Napi::BigInt::New(env, static_cast<uint64_t>(address));
}

void register_allocations(Napi::Env env, Napi::Object exports);
void register_heap(Napi::Env env, Napi::Object exports);
void register_pages(Napi::Env env, Napi::Object exports);
void register_procfs(Napi::Env env, Napi::Object exports);
void register_batches(Napi::Env env, Napi::Object exports);
void register_program(Napi::Env env, Napi::Object exports);
void register_threads(Napi::Env env, Napi::Object exports);

}  // namespace malloclab
