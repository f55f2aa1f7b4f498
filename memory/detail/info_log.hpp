// Internal: RocksDB's info log for the memory database: none (a reader's), or `<dir>/LOG` through
// a logger that survives a full disk and keeps at most `LOG` and `LOG.old`. For
// memory/database.cpp (it includes RocksDB).
#pragma once

#include <cstdarg>
#include <memory>
#include <string>

#include <rocksdb/env.h>

namespace swarm::memory::detail {

/// The info log's size limit: beyond it `LOG` becomes `LOG.old` (the one before is dropped).
inline constexpr long max_log_bytes = 1 << 20;

/// Discards RocksDB's info log: the read-only probe of a directory must not create a LOG file
/// in it (RocksDB would otherwise rotate the owner's LOG).
class null_logger : public rocksdb::Logger {
public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

/// The info log of the database in `dir`: `dir/LOG`, moved to `dir/LOG.old` first when over
/// `max_log_bytes` and again whenever it grows past it; discarded if the file cannot be opened.
std::shared_ptr<rocksdb::Logger> make_logger(const std::string& dir);

} // namespace swarm::memory::detail
