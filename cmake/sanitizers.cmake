# SOVEREIGN_SANITIZER: the whole tree (product, plugins, tests) built with a sanitizer, each in a
# tree of its own (CMakePresets.json: build-asan/, build-tsan/; `make test-asan`, `make test-tsan`).
#   address  AddressSanitizer + UndefinedBehaviorSanitizer; UBSan stops at its first report
#            (-fno-sanitize-recover), so that undefined behaviour fails a test as a crash does.
#   thread   ThreadSanitizer.
# Frame pointers are kept so that every report has a full stack.
#
# SOVEREIGN_SANITIZER_RUNTIME (a compile definition of the test support, empty when not
# sanitized): the shared sanitizer runtime that an uninstrumented program loading one of our
# plugins (slurmctld, sbatch, slurmd) must preload, since a sanitizer runtime cannot be
# dlopen()ed after the program has started (tests/support/minicluster.h).
set(SOVEREIGN_SANITIZER "" CACHE STRING "Build with a sanitizer: address (ASan + UBSan) or thread")
set_property(CACHE SOVEREIGN_SANITIZER PROPERTY STRINGS "" address thread)
set(SOVEREIGN_SANITIZER_RUNTIME "")

if(SOVEREIGN_SANITIZER STREQUAL "")
  return()
elseif(SOVEREIGN_SANITIZER STREQUAL "address")
  set(sovereign_sanitize_flags -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  set(sovereign_sanitizer_runtime_name libasan.so)
elseif(SOVEREIGN_SANITIZER STREQUAL "thread")
  set(sovereign_sanitize_flags -fsanitize=thread)
  set(sovereign_sanitizer_runtime_name libtsan.so)
else()
  message(FATAL_ERROR "SOVEREIGN_SANITIZER \"${SOVEREIGN_SANITIZER}\" is none of: address, thread")
endif()
add_compile_options(${sovereign_sanitize_flags} -fno-omit-frame-pointer)
add_link_options(${sovereign_sanitize_flags})

# The runtime the compiler links: its real file, as LD_PRELOAD needs it.
execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${sovereign_sanitizer_runtime_name}
                OUTPUT_VARIABLE sovereign_runtime OUTPUT_STRIP_TRAILING_WHITESPACE)
get_filename_component(sovereign_runtime "${sovereign_runtime}" REALPATH)
if(NOT EXISTS "${sovereign_runtime}" OR NOT IS_ABSOLUTE "${sovereign_runtime}")
  message(FATAL_ERROR "${CMAKE_CXX_COMPILER} does not know where ${sovereign_sanitizer_runtime_name} "
                      "is (Debian 12, GCC: libasan8 / libtsan2)")
endif()
set(SOVEREIGN_SANITIZER_RUNTIME "${sovereign_runtime}")
message(STATUS "sovereign: built with -fsanitize for ${SOVEREIGN_SANITIZER}; runtime ${SOVEREIGN_SANITIZER_RUNTIME}")
