# The flags of the fuzz tree (SOVEREIGN_FUZZ=ON, see tests/fuzz/CMakeLists.txt): every library is
# compiled with libFuzzer's coverage instrumentation (fuzzer-no-link), so that the fuzzer is
# guided through the product's code and not only the target's, and with AddressSanitizer and
# UndefinedBehaviorSanitizer. UBSan stops at its first report (-fno-sanitize-recover), so that
# undefined behaviour fails a run as a crash does. Only the fuzz targets link libFuzzer itself
# (-fsanitize=fuzzer, tests/fuzz/CMakeLists.txt).
# Debian 12: clang (clang++) and libclang-rt-14-dev (the sanitizer and libFuzzer runtimes).
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "SOVEREIGN_FUZZ needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}: "
                      "configure with -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang "
                      "(Debian packages clang and libclang-rt-14-dev; `make fuzz` does this).")
endif()
set(sovereign_sanitizers address,undefined)
add_compile_options(-fsanitize=fuzzer-no-link,${sovereign_sanitizers}
                    -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g)
add_link_options(-fsanitize=${sovereign_sanitizers})
