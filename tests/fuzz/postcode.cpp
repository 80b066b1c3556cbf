// Fuzz target: postcodes and route keys (lib/routing.cpp), checked against
// the contract's rule written out plainly here: five digits whose first two
// are 01-95 (20 for Corsica), or 971-976, or 984-989 (980 is Monaco); a
// key is such a postcode, its first 2 to 4 digits when they can begin one,
// or 2A / 2B. Every refused postcode says why, and only Monaco's is Monaco.
#include "fuzz.hpp"
#include "routing.hpp"

using namespace abri;

namespace {

bool digits(std::string_view s) {
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// Whether the digits can begin a valid postcode, by the contract's words.
bool can_begin(std::string_view s) {
    if (s.size() < 2 || !digits(s)) return false;
    const int department = std::stoi(std::string(s.substr(0, 2)));
    if (department >= 1 && department <= 95) return true;
    if (department == 98) return s.size() == 2 || (s[2] >= '4' && s[2] <= '9');
    if (department != 97) return false;
    return s.size() == 2 || (s[2] >= '1' && s[2] <= '6');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const bool postcode = routing::is_valid_postcode(text);
    fuzz::require(postcode == (size == 5 && can_begin(text)), "is_valid_postcode disagrees with the contract");
    const auto problem = routing::postcode_problem(text);
    fuzz::require((problem == routing::PostcodeProblem::None) == postcode, "postcode_problem disagrees");
    fuzz::require((problem == routing::PostcodeProblem::Format) == (size != 5 || !digits(text)),
                  "a five-digit postcode called malformed, or the reverse");
    fuzz::require((problem == routing::PostcodeProblem::Monaco) == (size == 5 && digits(text) && text.substr(0, 3) == "980"),
                  "Monaco's postcodes misread");
    const bool key = routing::is_valid_key(text);
    const bool expected_key = text == "2A" || text == "2B" || (size >= 2 && size <= 5 && can_begin(text));
    fuzz::require(key == expected_key, "is_valid_key disagrees with the contract");
    const auto corsica = routing::corsican_department(text);
    fuzz::require(corsica.empty() || ((corsica == "2A" || corsica == "2B") && postcode && text.substr(0, 2) == "20"),
                  "a Corsican department for something that is not a Corsican postcode");
    return 0;
}
