// Events and run views as JSON: the one wire form of the event stream (docs/events.md), written
// to `--events` files and served to watchers. Included by the edges only.
#pragma once

#include <string>

#include <boost/json/object.hpp>
#include <caf/expected.hpp>

#include "runtime/core/events.hpp"

namespace swarm {

/// {"prompt_tokens", "completion_tokens", "total_tokens", "calls"}.
boost::json::object to_json(const usage& u);

/// {"code", "message"}: the error's stable code name and its human context.
boost::json::object error_json(const caf::error& err);

/// The event as docs/events.md describes it: header fields always, the others when set.
boost::json::object to_json(const event& e);

/// The event as one line of JSON (no newline).
std::string to_json_line(const event& e);

/// The error an `error_json` object describes: its code as the swarm::errc of that name, else
/// errc::member_failed with "CODE: message" (a code of another category).
caf::error error_from_json(const boost::json::value& v);

/// The event a JSON object of to_json describes (a watcher of another process's stream): every
/// field it has, `line` ignored; an error's code that names no swarm::errc becomes
/// errc::member_failed with "CODE: message". errc::invalid_argument naming the field for an
/// object that is not an event (no known `kind`, a field of the wrong type).
caf::expected<event> event_from_json(const boost::json::object& o);

/// Every member of the view: {"agent", "leaf", "state", "tasks", "round", "text", "error",
/// "usage", "busy_ms"} (fields that do not apply left out), in the view's order.
boost::json::array members_json(const run_view& v);

} // namespace swarm
