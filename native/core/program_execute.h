// One step, executed: the run's state (slots, sets, threads, the sbrk ledger) and
// the op switch. Internal to the interpreter: program_run.cc drives it.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "plain_break.h"
#include "plain_process.h"
#include "plain_thread.h"
#include "program_steps.h"

namespace malloclab {

struct Slot {
  uintptr_t address;
  size_t size;
  uint8_t state;  // SlotState
};

struct Set {
  uintptr_t* blocks;
  size_t capacity;  // entries mapped
  size_t used;      // entries of the current batch
};

// sbrk segments a run remembers; past this many, a later negative sbrk is refused.
inline constexpr size_t kMaxBreakSegments = 64;

struct Run {
  Header header;
  Slot* slots;
  Set* sets;
  ParkedThread* threads;                   // kMaxThreads of them
  Child* children;                         // kMaxChildren of them (fork_hold)
  BreakSegment breaks[kMaxBreakSegments];  // the sbrk segments this run took, most recent last
  size_t break_count;
  int out_fd;
  timespec started;
};

// What a step did: the status, value and value2 fields of its record.
struct StepOutcome {
  int status;  // 0, an errno, or a refusal
  double value;
  double value2;
};

// Executes one step on the calling thread.
void execute(Run& run, const OpInfo* info, const double* args, size_t argc, StepOutcome* outcome);
// Executes one step on thread (started by a thread_start step) and waits for it.
void execute_on(Run& run, ParkedThread& thread, const OpInfo* info, const double* args, size_t argc,
                StepOutcome* outcome);

}  // namespace malloclab
