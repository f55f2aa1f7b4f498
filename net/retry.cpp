// The LLM client's retry policy: classification and backoff arithmetic.
#include "net/retry.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>

namespace swarm::net {

using std::chrono::milliseconds;

bool should_retry(attempt_outcome outcome, int http_status) {
  switch (outcome) {
  case attempt_outcome::http_status:
    return http_status == 429 || (http_status >= 500 && http_status <= 599);
  case attempt_outcome::connect_failed:
  case attempt_outcome::attempt_timeout:
  case attempt_outcome::truncated:
    return true;
  case attempt_outcome::ok:
  case attempt_outcome::tls_failed:
  case attempt_outcome::invalid_response:
  case attempt_outcome::cancelled:
    return false;
  }
  return false;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool parse_int(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<std::time_t> parse_http_date(std::string_view s) {
  if (s.size() != 29 || s[3] != ',' || s.substr(26) != "GMT")
    return std::nullopt;
  static constexpr std::array<std::string_view, 12> months{
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  if (!parse_int(s.substr(5, 2), day) || !parse_int(s.substr(12, 4), year) ||
      !parse_int(s.substr(17, 2), hh) || !parse_int(s.substr(20, 2), mm) ||
      !parse_int(s.substr(23, 2), ss))
    return std::nullopt;
  auto month = std::find(months.begin(), months.end(), s.substr(8, 3));
  if (month == months.end())
    return std::nullopt;
  tm.tm_mday = day;
  tm.tm_mon = static_cast<int>(month - months.begin());
  tm.tm_year = year - 1900;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  return timegm(&tm);
}

} // namespace

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty())
    return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    double secs = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (ec != std::errc{} || p != value.data() + value.size() || secs < 0 || secs > 1e9)
      return std::nullopt;
    return milliseconds{static_cast<int64_t>(secs * 1000.0)};
  }
  auto t = parse_http_date(value);
  if (!t)
    return std::nullopt;
  auto at = std::chrono::system_clock::from_time_t(*t);
  if (at <= now)
    return milliseconds{0};
  return std::chrono::duration_cast<milliseconds>(at - now);
}

milliseconds backoff_cap(uint32_t retry, milliseconds base, milliseconds max) {
  if (base.count() <= 0 || max.count() <= 0)
    return milliseconds{0};
  auto cap = base;
  for (uint32_t i = 0; i < retry && cap < max; ++i)
    cap *= 2;
  return std::min(cap, max);
}

milliseconds backoff_delay(uint32_t retry, milliseconds base, milliseconds max,
                           std::optional<milliseconds> retry_after, double unit_random) {
  auto cap = backoff_cap(retry, base, max);
  unit_random = std::clamp(unit_random, 0.0, 1.0);
  auto delay = milliseconds{static_cast<int64_t>(static_cast<double>(cap.count()) * unit_random)};
  if (retry_after)
    delay = std::max(delay, std::min(*retry_after, std::max(max, milliseconds{0})));
  return std::min(delay, std::max(max, milliseconds{0}));
}

} // namespace swarm::net
