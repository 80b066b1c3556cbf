// Fuzz target: query strings through input::parse_query, with the keys the
// long-polls declare (cgi/messages.cpp, cgi/agent.cpp) and with none (every
// other endpoint). The first byte picks the list. A result holds only
// declared keys, once each, within their range; anything else is a 400.
#include "fuzz.hpp"
#include "input.hpp"
#include "limits.hpp"

using namespace abri;

namespace {

constexpr input::QueryKey kPoll[] = {
    {"after", 0, limits::kMaxId, "invalid_after"},
    {"wait", 0, limits::kMaxWaitSeconds, "invalid_wait"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::span<const input::QueryKey> spec = data[0] & 1 ? std::span<const input::QueryKey>{}
                                                               : std::span<const input::QueryKey>(kPoll);
    const std::string_view query(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        const auto values = input::parse_query(query, spec);
        fuzz::require(query.size() <= limits::kMaxQueryBytes, "a query over the limit was read");
        for (const auto& [name, value] : values) {
            const input::QueryKey* key = nullptr;
            for (const auto& k : spec) {
                if (k.name == name) key = &k;
            }
            fuzz::require(key != nullptr, "an undeclared key reached the handler");
            fuzz::require(value >= key->min && value <= key->max, "a value out of its range");
        }
    } catch (const http::Error& e) {
        fuzz::require(e.status == 400, "a query error that is not 400");
        fuzz::answer(e);
    }
    return 0;
}
