// Module initialisation: per-environment state, so the addon works in Node's
// main thread and in Workers alike, with no JS handles in statics.
#include <atomic>

#include "../core/allocations.h"
#include "../core/batches.h"
#include "../core/threads.h"
#include "skin.h"

namespace malloclab {

namespace {

std::atomic<uint32_t> next_owner{1};

// When an environment (a Worker, or the main thread at exit) goes away, the
// blocks, mappings and sets it still holds are freed: nothing outlives its owner.
void release_environment(Napi::Env, AddonState* state) {
  stop_threads_of(state->owner);
  release_regions_of(state->owner);
  release_sets_of(state->owner);
  delete state;
}

Napi::Value Configure(const Napi::CallbackInfo& info) {
  if (info[0].IsFunction()) {
    state_of(info.Env()).error_class = Napi::Persistent(info[0].As<Napi::Function>());
  }
  return info.Env().Undefined();
}

Napi::Value Owner(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), state_of(info.Env()).owner);
}

Napi::Value Noop(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

}  // namespace

}  // namespace malloclab

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  using namespace malloclab;
  env.SetInstanceData<AddonState, release_environment>(new AddonState{next_owner++, {}});
  export_functions(env, exports, {{"configure", Configure}, {"owner", Owner}, {"noop", Noop}});
  Napi::Array codes = Napi::Array::New(env);
  for (const char* each : code::kAll) codes.Set(codes.Length(), each);
  exports.Set("errorCodes", codes);
  register_allocations(env, exports);
  register_heap(env, exports);
  register_pages(env, exports);
  register_procfs(env, exports);
  register_batches(env, exports);
  register_program(env, exports);
  register_threads(env, exports);
  return exports;
}

NODE_API_MODULE(malloc_lab, InitModule)
