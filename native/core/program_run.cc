// The run: maps everything the program needs before the first step, walks the
// steps (on this thread or a parked one), writes a record as each completes, and
// cleans up (threads stopped; blocks freed unless the program keeps them).
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "plain_bounds.h"
#include "program_execute.h"

namespace malloclab {

namespace {

void write_record(int fd, const double* record) {
  const char* data = reinterpret_cast<const char*>(record);
  size_t left = kRecordWidth * sizeof(double);
  while (left > 0) {
    ssize_t wrote = write(fd, data, left);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      return;
    }
    data += wrote;
    left -= static_cast<size_t>(wrote);
  }
}

double nanoseconds_since(const timespec& start) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<double>(now.tv_sec - start.tv_sec) * 1e9 +
         static_cast<double>(now.tv_nsec - start.tv_nsec);
}

// Batch capacity per set: the largest batch the program allocates into it.
void size_sets(const double* program, size_t length, Run& run) {
  ProgramError ignored;
  walk(program, length, run.header, &ignored,
       [&](size_t, const OpInfo* info, const double* a, size_t argc) {
         if (info->op == kBatchAlloc || info->op == kAllocUntilRefused) {
           size_t total = info->op == kBatchAlloc ? static_cast<size_t>(a[1]) * ((argc - 3) / 2)
                                                  : static_cast<size_t>(a[2]);
           Set& set = run.sets[static_cast<size_t>(a[0])];
           if (total > set.capacity) set.capacity = total;
         }
         return true;
       });
}

}  // namespace

int run_program(const double* program, size_t length, int out_fd) {
  Run run{};
  ProgramError error;
  if (!read_header(program, length, &run.header, &error)) return EINVAL;
  run.out_fd = out_fd;
  // Everything the run needs is mapped before the first step.
  size_t slots_bytes = run.header.slots * sizeof(Slot);
  size_t sets_bytes = run.header.sets * sizeof(Set);
  size_t threads_bytes = kMaxThreads * sizeof(ParkedThread);
  size_t children_bytes = kMaxChildren * sizeof(Child);
  run.slots = static_cast<Slot*>(map_plain(slots_bytes));
  run.sets = static_cast<Set*>(map_plain(sets_bytes));
  run.threads = static_cast<ParkedThread*>(map_plain(threads_bytes));
  run.children = static_cast<Child*>(map_plain(children_bytes));
  if (run.slots == nullptr || run.sets == nullptr || run.threads == nullptr ||
      run.children == nullptr)
    return ENOMEM;
  size_sets(program, length, run);
  for (size_t i = 0; i < run.header.sets; ++i) {
    Set& set = run.sets[i];
    if (set.capacity > 0) {
      set.blocks = static_cast<uintptr_t*>(map_plain(set.capacity * sizeof(uintptr_t)));
      if (set.blocks == nullptr) return ENOMEM;
    }
  }

  int result = 0;
  long on_thread = -1;
  clock_gettime(CLOCK_MONOTONIC, &run.started);
  walk(program, length, run.header, &error,
       [&](size_t step, const OpInfo* info, const double* args, size_t argc) {
         double record[kRecordWidth];
         for (double& value : record) value = NAN;
         StepOutcome outcome{0, NAN, NAN};
         if (info->op == kOnThread) {
           on_thread = static_cast<long>(args[0]);
           return true;  // no record: the next step carries the thread in value2 of its record
         }
         if (info->op == kThreadStart) {
           outcome.status = parked_thread_start(&run.threads[static_cast<size_t>(args[0])]);
         } else if (info->op == kThreadStop) {
           parked_thread_stop(&run.threads[static_cast<size_t>(args[0])]);
         } else if (info->op == kSnapshot) {
           outcome.status = read_sample(record + kRecordSample);
           outcome.value = static_cast<double>(mallinfo_source());
         } else if (on_thread >= 0) {
           execute_on(run, run.threads[on_thread], info, args, argc, &outcome);
         } else {
           execute(run, info, args, argc, &outcome);
         }
         record[kRecordStep] = static_cast<double>(step);
         record[kRecordOp] = info->op;
         record[kRecordStatus] = outcome.status;
         record[kRecordValue] = outcome.value;
         record[kRecordValue2] = on_thread >= 0 ? static_cast<double>(on_thread) : outcome.value2;
         record[kRecordNanoseconds] = nanoseconds_since(run.started);
         on_thread = -1;
         write_record(out_fd, record);
         if (outcome.status != 0) {
           result = outcome.status;
           return false;
         }
         return true;
       });

  double end[kRecordWidth];
  for (double& value : end) value = NAN;
  end[kRecordStep] = static_cast<double>(run.header.steps);
  end[kRecordOp] = kEnd;
  end[kRecordStatus] = result;
  end[kRecordNanoseconds] = nanoseconds_since(run.started);

  for (size_t i = 0; i < kMaxThreads; ++i) parked_thread_stop(&run.threads[i]);
  for (size_t i = 0; i < kMaxChildren; ++i) child_reap(run.children[i]);
  if ((run.header.flags & kFlagKeep) == 0) {
    for (size_t i = 0; i < run.header.slots; ++i) {
      Slot& slot = run.slots[i];
      if (slot.state == kHeap) free(reinterpret_cast<void*>(slot.address));
      if (slot.state == kMapping) munmap(reinterpret_cast<void*>(slot.address), slot.size);
    }
    for (size_t i = 0; i < run.header.sets; ++i) {
      Set& set = run.sets[i];
      if (set.blocks != nullptr) free_by_rule(set.blocks, set.used, 1, 1, set.used);
    }
  }
  for (size_t i = 0; i < run.header.sets; ++i)
    unmap_plain(run.sets[i].blocks, run.sets[i].capacity * sizeof(uintptr_t));
  unmap_plain(run.slots, slots_bytes);
  unmap_plain(run.sets, sets_bytes);
  unmap_plain(run.threads, threads_bytes);
  unmap_plain(run.children, children_bytes);
  write_record(out_fd, end);
  return result;
}

}  // namespace malloclab
