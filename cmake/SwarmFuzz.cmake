# The fuzz build's compiler settings (-DSWARM_FUZZ=ON): clang's libFuzzer under ASan+UBSan.
# Libraries get the fuzzer's coverage only (fuzzer-no-link); the targets link libFuzzer's main.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR
    "SWARM_FUZZ=ON needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}: configure a fresh "
    "build dir with -DCMAKE_CXX_COMPILER=clang++ (Debian: apt-get install clang "
    "libclang-rt-14-dev), or run `make fuzz`")
endif()
if(SWARM_SANITIZE OR SWARM_BUILD_TESTS OR SWARM_BUILD_BENCH)
  message(FATAL_ERROR
    "SWARM_FUZZ=ON builds the fuzz targets only: add -DSWARM_SANITIZE=OFF "
    "-DSWARM_BUILD_TESTS=OFF -DSWARM_BUILD_BENCH=OFF (as scripts/fuzz.sh does)")
endif()
# The check that libFuzzer is there, so a missing libclang-rt fails here and not at the first link.
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer")
check_cxx_source_compiles(
  "#include <cstddef>
   #include <cstdint>
   extern \"C\" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }"
  SWARM_HAVE_LIBFUZZER)
unset(CMAKE_REQUIRED_FLAGS)
if(NOT SWARM_HAVE_LIBFUZZER)
  unset(SWARM_HAVE_LIBFUZZER CACHE) # checked again once libFuzzer is installed
  message(FATAL_ERROR
    "clang cannot link -fsanitize=fuzzer: install libFuzzer (Debian: libclang-rt-14-dev)")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                    -fno-sanitize-recover=undefined -O1 -gline-tables-only)
# Warnings are errors here too: clang sees what GCC misses (unused namespace-scope constants).
function(swarm_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror
                         -Wno-missing-field-initializers)
endfunction()
add_link_options(-fsanitize=address,undefined)
