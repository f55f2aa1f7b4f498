// Fuzz target: the cassette decoder (cassette::load, `swarm run --replay`). The input is written
// to an in-memory file that load() reads by path. Invariant: a cassette that loads holds at most
// one call per line.
#include "net/cassette.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("cassette", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
    std::abort();
  auto res = swarm::net::cassette::load(path);
  if (!res)
    return 0;
  size_t lines = 0;
  for (size_t i = 0; i < size; ++i)
    lines += data[i] == '\n';
  if ((*res)->size() > lines + 1)
    std::abort();
  return 0;
}
