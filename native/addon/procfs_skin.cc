#include "../core/procfs.h"
#include "skin.h"

namespace malloclab {

namespace {

pid_t pid_arg(const Napi::CallbackInfo& info, const char* function) {
  return static_cast<pid_t>(integer_arg(info, 0, function, "pid", 0, INT32_MAX));
}

Napi::Value ReadStatus(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    read_status(pid_arg(info, "readStatus"),
                float64_arg(info, 1, "readStatus", "out", kStatusFields.count));
    return info.Env().Undefined();
  });
}

// status, then the break and mallinfo2 of this process, in one call.
Napi::Value ReadSample(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    read_self_sample(float64_arg(info, 0, "readSample", "out", kSampleWidth));
    return info.Env().Undefined();
  });
}

Napi::Value ReadSmapsRollup(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    read_smaps_rollup(pid_arg(info, "readSmapsRollup"),
                      float64_arg(info, 1, "readSmapsRollup", "out", kSmapsRollupFields.count));
    return info.Env().Undefined();
  });
}

Napi::Value ReadStatm(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    read_statm(pid_arg(info, "readStatm"),
               float64_arg(info, 1, "readStatm", "out", kStatmFields.count));
    return info.Env().Undefined();
  });
}

Napi::Value ResetPeak(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    reset_peak_rss(pid_arg(info, "resetPeakRss"));
    return info.Env().Undefined();
  });
}

Napi::Array names(Napi::Env env, const FieldTable& table) {
  Napi::Array array = Napi::Array::New(env, table.count);
  for (int i = 0; i < table.count; ++i) array.Set(i, table.names[i]);
  return array;
}

}  // namespace

void register_procfs(Napi::Env env, Napi::Object exports) {
  export_functions(env, exports,
                   {{"readStatus", ReadStatus},
                    {"readSample", ReadSample},
                    {"readSmapsRollup", ReadSmapsRollup},
                    {"readStatm", ReadStatm},
                    {"resetPeakRss", ResetPeak}});
  exports.Set("statusFields", names(env, kStatusFields));
  exports.Set("smapsRollupFields", names(env, kSmapsRollupFields));
  exports.Set("statmFields", names(env, kStatmFields));
}

}  // namespace malloclab
