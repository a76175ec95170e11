// The fresh host's start-up for the glibc 2.28 floor (the portable build links it with
// -Wl,--wrap=__libc_start_main). crt1.o of glibc 2.34+ calls __libc_start_main@GLIBC_2.34
// with no init function, since that libc runs the program's constructors itself; older
// glibc leaves them to the init function crt1.o used to pass. So this calls the old
// version and passes one that does what that function did: _init, then .init_array.
#include <stddef.h>

extern "C" {

typedef int (*MainFunction)(int, char**, char**);
typedef void (*InitFunction)(int, char**, char**);

// __libc_start_main at its old version (compat/glibc_floor.h).
int malloc_lab_libc_start_main(MainFunction main, int argc, char** argv, InitFunction init,
                               void (*fini)(void), void (*rtld_fini)(void), void* stack_end);

void _init(void);
extern InitFunction __init_array_start[] __attribute__((weak, visibility("hidden")));
extern InitFunction __init_array_end[] __attribute__((weak, visibility("hidden")));

static void run_constructors(int argc, char** argv, char** envp) {
  _init();
  const size_t count = static_cast<size_t>(__init_array_end - __init_array_start);
  for (size_t i = 0; i < count; ++i) __init_array_start[i](argc, argv, envp);
}

int __wrap___libc_start_main(MainFunction main, int argc, char** argv, InitFunction init,
                             void (*fini)(void), void (*rtld_fini)(void), void* stack_end) {
  return malloc_lab_libc_start_main(main, argc, argv, init != nullptr ? init : run_constructors,
                                    fini, rtld_fini, stack_end);
}

}  // extern "C"
