// malloc-lab-fresh: the step interpreter as a standalone executable, a fresh
// process with no Node inside, like the seeds' C programs. It links no C++
// runtime (libstdc++ allocates 73 KiB before main), so the heap is untouched
// until the program's first step.
//
// stdin: the encoded program (doubles). Records go to fd 3 (fd 1 if 3 is closed).
// Exit: 0 all steps ran, 1 a step failed, 2 a malformed program.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../core/plain.h"
#include "../core/program.h"

using namespace malloclab;

namespace {

void say(const char* text) {
  ssize_t ignored = write(STDERR_FILENO, text, strlen(text));
  (void)ignored;
}

}  // namespace

int main() {
  size_t capacity = 1 << 20, length = 0;
  char* input = static_cast<char*>(map_plain(capacity));
  for (;;) {
    if (input == nullptr) {
      say("malloc-lab-fresh: cannot map memory for the program\n");
      return 2;
    }
    if (length == capacity) {
      void* grown = mremap(input, capacity, capacity * 2, MREMAP_MAYMOVE);
      input = grown == MAP_FAILED ? nullptr : static_cast<char*>(grown);
      capacity *= 2;
      continue;
    }
    ssize_t got = read(STDIN_FILENO, input + length, capacity - length);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    length += static_cast<size_t>(got);
  }
  if (length % sizeof(double) != 0) {
    say("malloc-lab-fresh: the program on stdin is not a whole number of doubles\n");
    return 2;
  }
  const double* program = reinterpret_cast<const double*>(input);
  size_t count = length / sizeof(double);
  ProgramError error;
  if (!validate_program(program, count, &error)) {
    char message[400];
    snprintf(message, sizeof message, "malloc-lab-fresh: step program: %s\n", error.message);
    say(message);
    return 2;
  }
  int out_fd = fcntl(3, F_GETFD) == -1 ? STDOUT_FILENO : 3;
  return run_program(program, count, out_fd) == 0 ? 0 : 1;
}
