{
  # The one description of what the addon and the fresh host are built from. Paths are
  # relative to this folder; gyp rebases them for whichever file includes it:
  # binding.gyp (a source checkout), native/binding.gyp (an installed package built from
  # source), the prebuild staging files (scripts/prebuild.mjs); native/CMakeLists.txt
  # reads it too.
  "variables": {
    # The checked API (throws core Errors, keeps the registry): the addon builds it.
    "core_files": [
      "core/errors.cc",
      "core/outside_heap.cc",
      "core/registry.cc",
      "core/allocations.cc",
      "core/heap.cc",
      "core/pages.cc",
      "core/procfs.cc",
      "core/batches.cc",
      "core/threads.cc"
    ],
    # The plain layer (no exceptions, no C++ runtime): the addon and the fresh host both build it.
    "plain_files": [
      "core/plain.cc",
      "core/plain_pages.cc",
      "core/plain_mallopt.cc",
      "core/plain_stats.cc",
      "core/plain_break.cc",
      "core/plain_thread.cc",
      "core/plain_stack.cc",
      "core/plain_debug.cc",
      "core/plain_process.cc",
      "core/program_format.cc",
      "core/program_validate.cc",
      "core/program_execute.cc",
      "core/program_run.cc"
    ],
    # 1 for the published binaries (npm run prebuild): they must load on glibc 2.28, so
    # symbols newer than that are pinned to their 2.28 versions (compat/glibc_floor.h).
    "portable%": 0
  },
  "target_defaults": {
    "cflags_cc!": ["-std=gnu++17", "-std=gnu++20"],
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "cflags": ["-O3"],
    "defines": ["_GNU_SOURCE"],
    "conditions": [
      ["portable==1", {
        "include_dirs": ["compat"],
        "cflags": ["-include", "glibc_floor.h"],
        # libpthread and libdl: where glibc before 2.34 keeps pthread_create and dlsym.
        "libraries": ["-Wl,--no-as-needed", "-l:libpthread.so.0", "-l:libdl.so.2", "-Wl,--as-needed"]
      }]
    ]
  },
  "targets": [
    {
      "target_name": "malloc_lab",
      "sources": [
        "<@(plain_files)",
        "<@(core_files)",
        "addon/skin.cc",
        "addon/allocations_skin.cc",
        "addon/heap_skin.cc",
        "addon/pages_skin.cc",
        "addon/procfs_skin.cc",
        "addon/batches_skin.cc",
        "addon/program_skin.cc",
        "addon/threads_skin.cc",
        "addon/addon.cc"
      ],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-fexceptions"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # libstdc++ stays a shared library (a static one from a newer GCC brings glibc symbols
      # above 2.28 with it); the code keeps to what GCC 8's has (core/threads.cc), and the
      # ELF test holds it to GLIBCXX_3.4.25 and CXXABI_1.3.11.
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"]
    },
    {
      # The fresh host: the plain layer only, no C++ runtime (see fresh/main.cc).
      "target_name": "malloc-lab-fresh",
      "type": "executable",
      "sources": ["<@(plain_files)", "fresh/main.cc"],
      "cflags_cc!": ["-fexceptions"],
      "cflags_cc": ["-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics"],
      "ldflags": ["-Wl,--as-needed"],
      "libraries": ["-lpthread", "-ldl"],
      "conditions": [
        ["portable==1", {
          # crt1.o of glibc 2.34+ calls __libc_start_main@GLIBC_2.34; route it to the old one.
          "sources": ["compat/floor_start.cc"],
          "ldflags": ["-Wl,--wrap=__libc_start_main"]
        }]
      ]
    }
  ]
}
