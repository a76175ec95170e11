{
  # The default build (npm install). native/CMakeLists.txt mirrors these sources,
  # defines and flags for the cmake-js build.
  "variables": {
    # The checked API (throws core Errors, keeps the registry): the addon builds it.
    "core_sources": [
      "native/core/errors.cc",
      "native/core/outside_heap.cc",
      "native/core/registry.cc",
      "native/core/allocations.cc",
      "native/core/heap.cc",
      "native/core/pages.cc",
      "native/core/procfs.cc",
      "native/core/batches.cc",
      "native/core/threads.cc"
    ],
    # The plain layer (no exceptions, no C++ runtime): the addon and the fresh host both build it.
    "plain_sources": [
      "native/core/plain.cc",
      "native/core/plain_pages.cc",
      "native/core/plain_mallopt.cc",
      "native/core/plain_stats.cc",
      "native/core/plain_break.cc",
      "native/core/plain_thread.cc",
      "native/core/plain_stack.cc",
      "native/core/plain_debug.cc",
      "native/core/plain_process.cc",
      "native/core/program_format.cc",
      "native/core/program_validate.cc",
      "native/core/program_execute.cc",
      "native/core/program_run.cc"
    ]
  },
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "cflags": ["-O3"],
    "defines": ["_GNU_SOURCE"]
  },
  "targets": [
    {
      "target_name": "malloc_lab",
      "sources": [
        "<@(plain_sources)",
        "<@(core_sources)",
        "native/addon/skin.cc",
        "native/addon/allocations_skin.cc",
        "native/addon/heap_skin.cc",
        "native/addon/pages_skin.cc",
        "native/addon/procfs_skin.cc",
        "native/addon/batches_skin.cc",
        "native/addon/program_skin.cc",
        "native/addon/threads_skin.cc",
        "native/addon/addon.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"]
    },
    {
      # The fresh host: the plain layer only, no C++ runtime (see native/fresh/main.cc).
      "target_name": "malloc-lab-fresh",
      "type": "executable",
      "sources": ["<@(plain_sources)", "native/fresh/main.cc"],
      "cflags_cc!": ["-fexceptions"],
      "cflags_cc": ["-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics"],
      "ldflags": ["-Wl,--as-needed"],
      "libraries": ["-lpthread", "-ldl"]
    }
  ]
}
