#include <string>

#include "../core/program.h"
#include "skin.h"

namespace malloclab {

namespace {

const double* program_arg(const Napi::CallbackInfo& info, size_t* length) {
  Napi::Value value = info[0];
  if (!value.IsTypedArray() ||
      value.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Error(code::kInvalidArgType,
                "runProgram: program must be a Float64Array (as lib/ encodes it)");
  }
  Napi::Float64Array program = value.As<Napi::Float64Array>();
  *length = program.ElementLength();
  ProgramError error;
  if (!validate_program(program.Data(), *length, &error)) {
    throw Error(code::kBadProgram, std::string("step program: ") + error.message);
  }
  return program.Data();
}

Napi::Value ValidateProgram(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    size_t length = 0;
    program_arg(info, &length);
    return info.Env().Undefined();
  });
}

// Runs the whole program in this one call; records go to fd as steps complete.
Napi::Value RunProgram(const Napi::CallbackInfo& info) {
  return guarded(info, [&] {
    size_t length = 0;
    const double* program = program_arg(info, &length);
    int fd = static_cast<int>(integer_arg(info, 1, "runProgram", "fd", 0, 1 << 20));
    return Napi::Number::New(info.Env(), run_program(program, length, fd));
  });
}

// The format as lib/experiments/framework/program.ts must speak it (the parity test compares).
Napi::Object program_format(Napi::Env env) {
  Napi::Object ops = Napi::Object::New(env);
  ops.Set("end", static_cast<int>(kEnd));
  for (int i = 0; i < kOpCount; ++i) ops.Set(kOps[i].name, kOps[i].op);
  // lib keys refusals by status: { "-1": "ERR_SBRK_REFUSED" }.
  Napi::Object refusals = Napi::Object::New(env);
  for (int i = 0; i < kRefusals.count; ++i)
    refusals.Set(std::to_string(kRefusals.entries[i].value), kRefusals.entries[i].name);

  Napi::Object format = Napi::Object::New(env);
  format.Set("magic", kProgramMagic);
  format.Set("version", kProgramVersion);
  format.Set("header", named_values(env, kHeaderLayout));
  format.Set("flags", named_values(env, kFlagValues));
  format.Set("record", named_values(env, kRecordLayout));
  format.Set("sample", named_values(env, kSampleLayout));
  format.Set("ops", ops);
  format.Set("refusals", refusals);
  return format;
}

}  // namespace

void register_program(Napi::Env env, Napi::Object exports) {
  export_functions(env, exports,
                   {{"validateProgram", ValidateProgram}, {"runProgram", RunProgram}});
  exports.Set("programFormat", program_format(env));
}

}  // namespace malloclab
