#include "skin.h"

#include <cmath>
#include <string>

#include "../core/plain_bounds.h"

namespace malloclab {

AddonState& state_of(Napi::Env env) { return *env.GetInstanceData<AddonState>(); }

void throw_error(Napi::Env env, const Error& error) {
  AddonState& state = state_of(env);
  Napi::Object object;
  if (!state.error_class.IsEmpty()) {
    object = state.error_class.New(
        {Napi::String::New(env, error.message()), Napi::String::New(env, error.code())});
  } else {
    object = Napi::Error::New(env, error.message()).Value();
    object.Set("code", Napi::String::New(env, error.code()));
  }
  if (error.error_number() != 0) object.Set("errno", Napi::Number::New(env, error.error_number()));
  if (error.syscall() != nullptr) object.Set("syscall", Napi::String::New(env, error.syscall()));
  Napi::Error(env, object).ThrowAsJavaScriptException();
}

namespace {
[[noreturn]] void wrong_type(const char* function, const char* parameter, const char* expected,
                             const Napi::Value& value) {
  throw Error(code::kInvalidArgType, std::string(function) + ": " + parameter + " must be " +
                                         expected + ", received " +
                                         (value.IsUndefined() ? "undefined"
                                          : value.IsNull()    ? "null"
                                          : value.IsNumber()  ? "a number"
                                          : value.IsBigInt()  ? "a bigint"
                                          : value.IsString()  ? "a string"
                                                              : "an object"));
}
}  // namespace

uintptr_t address_arg(const Napi::CallbackInfo& info, size_t index, const char* function,
                      const char* parameter) {
  Napi::Value value = info[index];
  // One N-API call: it fails (napi_bigint_expected) for anything but a BigInt.
  bool lossless = false;
  uint64_t address = 0;
  if (napi_get_value_bigint_uint64(info.Env(), value, &address, &lossless) != napi_ok) {
    wrong_type(function, parameter, "a bigint address", value);
  }
  if (!lossless) {
    throw Error(code::kOutOfRange, std::string(function) + ": " + parameter +
                                       " must be between 0n and 2n ** 64n - 1n");
  }
  return static_cast<uintptr_t>(address);
}

size_t size_arg(const Napi::CallbackInfo& info, size_t index, const char* function,
                const char* parameter) {
  return static_cast<size_t>(integer_arg(info, index, function, parameter, 0, kMaxExactInteger));
}

int64_t integer_arg(const Napi::CallbackInfo& info, size_t index, const char* function,
                    const char* parameter, int64_t min, int64_t max) {
  Napi::Value value = info[index];
  // One N-API call: it fails (napi_number_expected) for anything but a number.
  double number = 0;
  if (napi_get_value_double(info.Env(), value, &number) != napi_ok) {
    wrong_type(function, parameter, "an integer number", value);
  }
  if (!(number >= static_cast<double>(min) && number <= static_cast<double>(max)) ||
      std::trunc(number) != number) {
    throw Error(code::kOutOfRange, std::string(function) + ": " + parameter +
                                       " must be an integer from " + std::to_string(min) + " to " +
                                       std::to_string(max) + ", received " +
                                       std::to_string(number));
  }
  return static_cast<int64_t>(number);
}

double* float64_arg(const Napi::CallbackInfo& info, size_t index, const char* function,
                    const char* parameter, size_t count) {
  Napi::Value value = info[index];
  // One N-API call (it fails with napi_invalid_arg for anything but a typed array)
  // instead of four: every snapshot passes its output array through here.
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(info.Env(), value, &type, &length, &data, nullptr, nullptr) !=
          napi_ok ||
      type != napi_float64_array) {
    wrong_type(function, parameter, "a Float64Array", value);
  }
  if (length < count) {
    throw Error(code::kOutOfRange, std::string(function) + ": " + parameter + " must hold " +
                                       std::to_string(count) + " values");
  }
  return static_cast<double*>(data);
}

Napi::Uint8Array bytes_arg(const Napi::CallbackInfo& info, size_t index, const char* function,
                           const char* parameter) {
  Napi::Value value = info[index];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    wrong_type(function, parameter, "a Uint8Array", value);
  }
  return value.As<Napi::Uint8Array>();
}

void export_functions(Napi::Env env, Napi::Object exports,
                      std::initializer_list<Export> functions) {
  for (const Export& each : functions)
    exports.Set(each.name, Napi::Function::New(env, each.callback, each.name));
}

Napi::Object named_values(Napi::Env env, const NamedValues& table) {
  Napi::Object object = Napi::Object::New(env);
  for (int i = 0; i < table.count; ++i) object.Set(table.entries[i].name, table.entries[i].value);
  return object;
}

}  // namespace malloclab
