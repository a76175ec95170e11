// A process with many mappings, for explain to read: one anonymous region cut into
// `count` one-page mappings by alternating protections (the kernel cannot merge
// neighbours that differ), every `touch`-th read-write page written so it is
// resident. It prints "ready <count> <resident bytes>" and waits until stdin closes.
//
//   many-mappings COUNT TOUCH
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  long count = atol(argv[1]);
  long touch = atol(argv[2]);
  long page = sysconf(_SC_PAGESIZE);
  char* base = mmap(NULL, (size_t)(count * page), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return 3;
  long resident = 0;
  for (long i = 0; i < count; i++) {
    if (i % 2 == 0) {
      if (mprotect(base + i * page, (size_t)page, PROT_READ) != 0) return 4;
    } else if ((i / 2) % touch == 0) {
      base[i * page] = 1;
      resident += page;
    }
  }
  printf("ready %ld %ld\n", count, resident);
  fflush(stdout);
  char byte;
  while (read(0, &byte, 1) > 0) {
  }
  return 0;
}
