// Finding damage in the memory database (memory/detail/recovery.hpp): RocksDB's WAL format read
// record by record with its checksums, a WAL filter counting what recovery replays, the WAL
// ledger and its keeper, and the damage report kept in meta/damage.
#include "memory/detail/recovery.hpp"

#include <array>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <rocksdb/transaction_log.h>

#include "memory/detail/db_access.hpp"

namespace swarm::memory::detail {

namespace {

namespace fs = std::filesystem;

// RocksDB's log format (db/log_format.h of 7.8): blocks of 32 KiB; a record header is a masked
// CRC32C (4 bytes, little endian), the payload length (2) and the type (1); the recyclable types
// add the log number (4). A block's tail too short for a header is zero padding.
constexpr uint64_t block_size = 32768;
constexpr size_t header_size = 7;
constexpr size_t recyclable_header_size = 11;
enum record_type : uint8_t {
  zero_type = 0,
  full_type = 1,
  first_type = 2,
  middle_type = 3,
  last_type = 4,
  recyclable_full_type = 5,
  recyclable_last_type = 8,
  set_compression_type = 9,
};

const std::array<uint32_t, 256>& crc_table() {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1; // CRC32C (Castagnoli), reflected
      t[i] = c;
    }
    return t;
  }();
  return table;
}

uint32_t crc32c_extend(uint32_t crc, const unsigned char* data, size_t n) {
  const auto& t = crc_table();
  crc = ~crc;
  for (size_t i = 0; i < n; ++i)
    crc = t[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint32_t unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

uint32_t fixed32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

/// Counts one batch's writes to the `records` column family.
class record_counter : public rocksdb::WriteBatch::Handler {
public:
  explicit record_counter(uint32_t cf) : cf_(cf) {}
  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return count(cf);
  }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice&) override { return count(cf); }
  rocksdb::Status SingleDeleteCF(uint32_t cf, const rocksdb::Slice&) override { return count(cf); }
  rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice&,
                                const rocksdb::Slice&) override {
    return count(cf);
  }
  rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return count(cf);
  }
  void LogData(const rocksdb::Slice&) override {}
  uint64_t n = 0;

private:
  rocksdb::Status count(uint32_t cf) {
    n += cf == cf_ ? 1 : 0;
    return rocksdb::Status::OK();
  }
  uint32_t cf_;
};

uint64_t records_in(const rocksdb::WriteBatch& batch, uint32_t records_cf) {
  record_counter counter{records_cf};
  batch.Iterate(&counter).PermitUncheckedError();
  return counter.n;
}

} // namespace

std::string wal_file_name(uint64_t number) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%06llu.log", static_cast<unsigned long long>(number));
  return buf;
}

std::map<uint64_t, std::string> wal_files(const std::string& dir) {
  std::map<uint64_t, std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.size() <= 4 || name.substr(name.size() - 4) != ".log")
      continue;
    auto digits = name.substr(0, name.size() - 4);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
      continue;
    out[std::stoull(digits)] = name;
  }
  return out;
}

wal_scan scan_wal(const std::string& file, uint64_t number, uint32_t records_cf) {
  wal_scan out;
  out.number = number;
  std::ifstream in{file, std::ios::binary};
  if (!in)
    return out;
  out.name = fs::path{file}.filename().string();
  std::string bytes{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  out.bytes = bytes.size();
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  auto damaged = [&](uint64_t at, std::string what, bool cut = false) {
    if (!out.damage) {
      out.damage.emplace(at, std::move(what));
      out.cut_short = cut;
    }
  };
  std::string pending; // the fragments of a batch spread over several records
  bool in_batch = false;
  uint64_t pos = 0;
  while (pos < out.bytes) {
    uint64_t left_in_block = block_size - pos % block_size;
    if (left_in_block < header_size) { // the block's zero tail
      pos += left_in_block;
      continue;
    }
    if (out.bytes - pos < header_size) {
      damaged(pos, "the file ends inside a record header", true);
      break;
    }
    const auto* h = data + pos;
    uint32_t length = uint32_t{h[4]} | uint32_t{h[5]} << 8;
    uint8_t type = h[6];
    if (type == zero_type && length == 0 && fixed32(h) == 0) {
      // Zeroes: preallocated space after the last record, or a zeroed block; the rest of this
      // block is skipped, as RocksDB does.
      bool all_zero = true;
      for (uint64_t i = pos; i < out.bytes && all_zero; ++i)
        all_zero = data[i] == 0;
      if (all_zero)
        break;
      damaged(pos, "zeroes where a record was expected");
      pos += left_in_block;
      pending.clear();
      in_batch = false;
      continue;
    }
    bool recyclable = type >= recyclable_full_type && type <= recyclable_last_type;
    size_t hsize = recyclable ? recyclable_header_size : header_size;
    if (hsize + length > left_in_block || (type > set_compression_type)) {
      damaged(pos, "a record header that is not valid (type " + std::to_string(type) + ", length " +
                       std::to_string(length) + ")");
      pos += left_in_block; // resynchronise at the next block, as RocksDB's reader does
      pending.clear();
      in_batch = false;
      continue;
    }
    if (pos + hsize + length > out.bytes) {
      damaged(pos,
              "the file ends inside a record (" + std::to_string(hsize + length) +
                  " bytes from here, " + std::to_string(out.bytes - pos) + " left)",
              true);
      break;
    }
    uint32_t crc = crc32c_extend(0, h + 6, 1 + (hsize - header_size) + length);
    if (unmask(fixed32(h)) != crc) {
      damaged(pos, "checksum mismatch");
      pos += left_in_block;
      pending.clear();
      in_batch = false;
      continue;
    }
    std::string_view payload{bytes.data() + pos + hsize, length};
    pos += hsize + length;
    auto base = recyclable ? type - recyclable_full_type + full_type : type;
    if (type == set_compression_type)
      continue;
    if (base == full_type || base == first_type) {
      pending.assign(payload);
      in_batch = base == first_type;
    } else if (in_batch) {
      pending.append(payload);
      in_batch = base == middle_type;
    } else {
      continue; // the middle or end of a batch whose start was lost: RocksDB drops it too
    }
    if (in_batch)
      continue;
    if (pending.size() < 12)
      continue;
    rocksdb::WriteBatch batch{pending};
    ++out.batches;
    out.records += records_in(batch, records_cf);
  }
  if (in_batch && !out.damage)
    damaged(out.bytes, "the file ends inside a batch spread over several records", true);
  return out;
}

void counting_wal_filter::ColumnFamilyLogNumberMap(
    const std::map<uint32_t, uint64_t>& cf_lognumber_map,
    const std::map<std::string, uint32_t>& cf_name_id_map) {
  min_log_number = 0;
  for (const auto& [id, log] : cf_lognumber_map)
    min_log_number = min_log_number == 0 ? log : std::min(min_log_number, log);
  auto it = cf_name_id_map.find("records");
  if (it != cf_name_id_map.end())
    records_cf = it->second;
}

rocksdb::WalFilter::WalProcessingOption
counting_wal_filter::LogRecordFound(unsigned long long, const std::string&,
                                    const rocksdb::WriteBatch& batch, rocksdb::WriteBatch*, bool*) {
  ++batches;
  records += records_in(batch, records_cf);
  return WalProcessingOption::kContinueProcessing;
}

wal_ledger read_wal_ledger(const std::string& dir) {
  wal_ledger out;
  std::ifstream in{(fs::path{dir} / wal_ledger_name).string()};
  std::string word;
  while (in >> word) {
    if (word == "state") {
      in >> word;
      out.open = word == "open";
    } else if (word == "wal") {
      uint64_t n = 0;
      if (in >> n)
        out.wals.push_back(n);
    }
  }
  return out;
}

bool write_wal_ledger(const std::string& dir, const wal_ledger& ledger) {
  auto file = fs::path{dir} / wal_ledger_name;
  auto tmp = fs::path{dir} / (std::string{wal_ledger_name} + ".tmp");
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << "state " << (ledger.open ? "open" : "closed") << "\n";
    for (auto n : ledger.wals)
      out << "wal " << n << "\n";
    out.flush();
    if (!out)
      return false;
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  return !ec;
}

void ledger_keeper::OnFlushCompleted(rocksdb::DB* db, const rocksdb::FlushJobInfo&) {
  std::lock_guard guard{mtx};
  if (closing)
    return;
  std::unique_ptr<rocksdb::LogFile> current;
  if (db->GetCurrentWalFile(&current).ok() && current)
    write_wal_ledger(dir, {true, {current->LogNumber()}});
}

std::vector<std::string> describe_wal_damage(const std::string& path,
                                             const counting_wal_filter& kept,
                                             const rocksdb::Status& st, bool writer_elsewhere) {
  std::vector<std::string> lines;
  uint64_t batches = 0;
  uint64_t records = 0;
  auto files = wal_files(path);
  for (const auto& [number, name] : files) {
    if (number < kept.min_log_number)
      continue; // obsolete: recovery does not read it
    auto scan = scan_wal((fs::path{path} / name).string(), number, kept.records_cf);
    batches += scan.batches;
    records += scan.records;
    if (!scan.damage)
      continue;
    if (writer_elsewhere && scan.cut_short && number == files.rbegin()->first)
      continue;
    lines.push_back("WAL file " + name + " (" + std::to_string(scan.bytes) +
                    " bytes) is damaged at byte " + std::to_string(scan.damage->first) + ": " +
                    scan.damage->second);
  }
  auto dropped = batches > kept.batches ? batches - kept.batches : 0;
  auto dropped_records = records > kept.records ? records - kept.records : 0;
  if (lines.empty() && writer_elsewhere)
    return lines; // the record being written; it may have grown since recovery read it
  if (lines.empty() && dropped == 0) {
    lines.push_back("recovery found corruption (" + st.ToString() +
                    "); point-in-time recovery dropped nothing it could read");
    return lines;
  }
  lines.push_back("point-in-time recovery kept the " + std::to_string(kept.batches) +
                  " write batches before the damage (" + std::to_string(kept.records) +
                  " writes to long-term records) and dropped " + std::to_string(dropped) +
                  " intact write batches after it (" + std::to_string(dropped_records) +
                  " writes to long-term records), plus whatever the damaged bytes held");
  return lines;
}

caf::error record_damage(const database& db, const std::vector<std::string>& lines) {
  auto& raw = db_access::raw(db);
  auto* meta = db_access::cf(db, cf_meta);
  rocksdb::Slice key{damage_key.data(), damage_key.size()};
  std::string value;
  raw.Get(rocksdb::ReadOptions{}, meta, key, &value).PermitUncheckedError();
  auto secs = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  for (const auto& line : lines)
    value += std::string{stamp} + ": " + line + "\n";
  rocksdb::WriteBatch batch;
  batch.Put(meta, key, value).PermitUncheckedError();
  return db_access::write(db, batch, "cannot record damage in meta/damage");
}

} // namespace swarm::memory::detail
