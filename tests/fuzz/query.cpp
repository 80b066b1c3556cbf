// Fuzz target: query strings through input::parse_query, with every key
// list the programs declare (lib/fields.hpp: the long-polls', the export's)
// and with none (every other endpoint). The first byte picks the list. A result holds only
// declared keys, once each, within their range; anything else is a 400.
#include "fields.hpp"
#include "fuzz.hpp"
#include "input.hpp"
#include "limits.hpp"

using namespace abri;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto spec = fields::kQueries[data[0] % std::size(fields::kQueries)];
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
