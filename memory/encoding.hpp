// Little helpers to write and read the binary values memory/ stores in RocksDB: fixed-width
// integers (little endian unless named otherwise) and length-prefixed strings.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace swarm::memory::encoding {

/// Appends `x` as 4 bytes, little endian.
inline void put_u32(std::string& out, uint32_t x) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

/// Appends `x` as 8 bytes, little endian.
inline void put_u64(std::string& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

/// Appends `x` as 8 bytes, big endian (keys that must sort numerically).
inline void put_u64_be(std::string& out, uint64_t x) {
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

/// Appends the bits of `x` as put_u64 does.
inline void put_f64(std::string& out, double x) {
  uint64_t bits = 0;
  static_assert(sizeof bits == sizeof x);
  std::memcpy(&bits, &x, sizeof bits);
  put_u64(out, bits);
}

/// Appends the length of `s` (put_u32) and its bytes.
inline void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

/// Reads what the put_* functions wrote, front to back; `ok` turns false on a short input and
/// stays false (every later read yields 0 or empty).
struct reader {
  std::string_view in;
  bool ok = true;

  /// `bytes` bytes, little endian.
  uint64_t uint(size_t bytes) {
    if (!ok || in.size() < bytes) {
      ok = false;
      return 0;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < bytes; ++i)
      x |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
    in.remove_prefix(bytes);
    return x;
  }

  /// 8 bytes, big endian.
  uint64_t u64_be() {
    if (!ok || in.size() < 8) {
      ok = false;
      return 0;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < 8; ++i)
      x = (x << 8) | static_cast<unsigned char>(in[i]);
    in.remove_prefix(8);
    return x;
  }

  /// A double written by put_f64.
  double f64() {
    auto bits = uint(8);
    double x = 0;
    std::memcpy(&x, &bits, sizeof x);
    return x;
  }

  /// A string written by put_str.
  std::string str() {
    auto n = uint(4);
    if (!ok || in.size() < n) {
      ok = false;
      return {};
    }
    std::string s{in.substr(0, n)};
    in.remove_prefix(n);
    return s;
  }
};

} // namespace swarm::memory::encoding
