#include <sys/sysinfo.h>

#include "../core/threads.h"
#include "skin.h"

namespace malloclab {

namespace {

uint32_t thread_arg(const Napi::CallbackInfo& info, const char* function) {
  return static_cast<uint32_t>(integer_arg(info, 0, function, "thread", 0, UINT32_MAX));
}

Napi::Value StartThread(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    return Napi::Number::New(info.Env(), thread_start(state_of(info.Env()).owner));
  });
}

Napi::Value CloseThread(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    thread_stop(thread_arg(info, "closeThread"));
    return info.Env().Undefined();
  });
}

// threadCall(thread, call, a, b): a and b are bigint addresses or numbers.
Napi::Value ThreadCallFn(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    uint32_t id = thread_arg(info, "threadCall");
    int call =
        static_cast<int>(integer_arg(info, 1, "threadCall", "call", 0, kThreadCalls.count - 1));
    auto operand = [&](size_t index, const char* name) -> uint64_t {
      if (info[index].IsBigInt()) return address_arg(info, index, "threadCall", name);
      if (info[index].IsUndefined()) return 0;
      return size_arg(info, index, "threadCall", name);
    };
    uint64_t result =
        thread_call(id, static_cast<ThreadCall>(call), operand(2, "a"), operand(3, "b"), 0);
    ThreadCall kind = static_cast<ThreadCall>(call);
    if (kind == ThreadCall::kMalloc || kind == ThreadCall::kCalloc ||
        kind == ThreadCall::kRealloc) {
      return address_value(info.Env(), static_cast<uintptr_t>(result));
    }
    return Napi::Number::New(info.Env(), static_cast<double>(result));
  });
}

Napi::Value LiveThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live_threads()));
}

Napi::Value BlockArena(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    switch (chunk_arena(address_arg(info, 0, "blockArena", "ptr"))) {
      case ChunkArena::kMain:
        return Napi::String::New(info.Env(), "main");
      case ChunkArena::kThread:
        return Napi::String::New(info.Env(), "thread");
      default:
        return Napi::String::New(info.Env(), "mmap");
    }
  });
}

Napi::Value StackLimits(const Napi::CallbackInfo& info) {
  double soft, hard, stack;
  stack_limits(&soft, &hard, &stack);
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("soft", soft);
  result.Set("hard", hard);
  result.Set("defaultThreadStack", stack);
  return result;
}

// glibc sizes its arena cap from the CPUs online (get_nprocs), not the affinity mask.
Napi::Value OnlineCpus(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), get_nprocs());
}

}  // namespace

void register_threads(Napi::Env env, Napi::Object exports) {
  export_functions(env, exports,
                   {{"startThread", StartThread},
                    {"closeThread", CloseThread},
                    {"threadCall", ThreadCallFn},
                    {"liveThreads", LiveThreads},
                    {"blockArena", BlockArena},
                    {"stackLimits", StackLimits},
                    {"onlineCpus", OnlineCpus}});
  exports.Set("threadCalls", named_values(env, kThreadCalls));
}

}  // namespace malloclab
