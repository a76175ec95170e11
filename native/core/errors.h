// Errors raised by the core. The N-API skin and the fresh executable turn them
// into their own error shapes; the core never knows about either.
#pragma once

#include <cerrno>
#include <cstring>
#include <exception>
#include <string>

#include "plain_codes.h"

namespace malloclab {

class Error : public std::exception {
 public:
  Error(const char* code, std::string message, int err = 0, const char* syscall = nullptr)
      : code_(code), message_(std::move(message)), errno_(err), syscall_(syscall) {}

  const char* what() const noexcept override { return message_.c_str(); }
  const char* code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  int error_number() const noexcept { return errno_; }  // 0 when not a syscall failure
  const char* syscall() const noexcept { return syscall_; }

 private:
  const char* code_;
  std::string message_;
  int errno_;
  const char* syscall_;
};

// The symbolic name of an errno value ("ENOMEM"), as strerrorname_np names it.
const char* errno_name(int err);

// A failed glibc or kernel call: code is the errno name, as Node's system errors do.
[[noreturn]] inline void throw_errno(const char* syscall, int err, const std::string& detail) {
  throw Error(errno_name(err),
              std::string(syscall) + " failed: " + strerror(err) +
                  (detail.empty() ? "" : " (" + detail + ")"),
              err, syscall);
}

std::string hex(const void* address);
std::string hex(uintptr_t address);

}  // namespace malloclab
