// The stable error codes (part of the public interface: README lists them). A plain
// header: the checked API throws them (errors.h), and the step interpreter names its
// refusals with them, so both layers say the same thing.
#pragma once

namespace malloclab {
namespace code {
inline constexpr const char* kInvalidArgType = "ERR_INVALID_ARG_TYPE";
inline constexpr const char* kOutOfRange = "ERR_OUT_OF_RANGE";
inline constexpr const char* kUnknownPointer = "ERR_UNKNOWN_POINTER";
inline constexpr const char* kFreedPointer = "ERR_FREED_POINTER";
inline constexpr const char* kInteriorPointer = "ERR_INTERIOR_POINTER";
inline constexpr const char* kOutOfBounds = "ERR_OUT_OF_BOUNDS";
inline constexpr const char* kNotOwned = "ERR_NOT_OWNED";
inline constexpr const char* kUnaligned = "ERR_UNALIGNED";
inline constexpr const char* kUnknownMalloptParam = "ERR_UNKNOWN_MALLOPT_PARAM";
inline constexpr const char* kMalloptRejected = "ERR_MALLOPT_REJECTED";
inline constexpr const char* kSbrkRefused = "ERR_SBRK_REFUSED";
inline constexpr const char* kLimitExceeded = "ERR_LIMIT_EXCEEDED";
inline constexpr const char* kUnknownSet = "ERR_UNKNOWN_SET";
inline constexpr const char* kBadProgram = "ERR_BAD_PROGRAM";

// Every code above, for the addon to export (lib checks them against its ErrorCodes).
inline constexpr const char* kAll[] = {
    kInvalidArgType, kOutOfRange,    kUnknownPointer, kFreedPointer,        kInteriorPointer,
    kOutOfBounds,    kNotOwned,      kUnaligned,      kUnknownMalloptParam, kMalloptRejected,
    kSbrkRefused,    kLimitExceeded, kUnknownSet,     kBadProgram};
}  // namespace code
}  // namespace malloclab
