#include "input.hpp"
#include "limits.hpp"
#include <algorithm>
#include <cctype>
#include <cstdint>

namespace abri::input {

namespace {

http::Error bad_body(const std::string& message) { return {400, "invalid_body", message}; }

bool is_json_content_type(std::string_view type) {
    const auto semicolon = type.find(';');
    std::string_view media = type.substr(0, semicolon);
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    if (media.size() != 16) return false;
    for (std::size_t i = 0; i < media.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(media[i])) != "application/json"[i]) return false;
    }
    return true;
}

const Field* find_field(std::span<const Field> spec, std::string_view name) {
    for (const auto& field : spec) {
        if (field.name == name) return &field;
    }
    return nullptr;
}

// Parses without building any tree deeper than the limit: the callback
// stops the parser as soon as the depth is exceeded.
nlohmann::json parse_bounded(const std::string& body) {
    bool too_deep = false;
    nlohmann::json::parser_callback_t guard = [&too_deep](int depth, nlohmann::json::parse_event_t event,
                                                          nlohmann::json&) {
        if ((event == nlohmann::json::parse_event_t::object_start ||
             event == nlohmann::json::parse_event_t::array_start) &&
            depth >= limits::kMaxJsonDepth) {
            too_deep = true;
            throw std::length_error("depth");
        }
        return true;
    };
    try {
        return nlohmann::json::parse(body, guard, true, false);
    } catch (const std::length_error&) {
        throw bad_body("Le contenu envoyé est trop imbriqué.");
    } catch (const nlohmann::json::exception&) {
        throw bad_body("Le contenu envoyé n'est pas du JSON valide.");
    }
}

void require_fields(const Body& body, std::span<const Field> spec) {
    for (const auto& field : spec) {
        if (field.required && !body.has(field.name)) {
            throw http::Error{400, std::string(field.error),
                              "Le champ « " + std::string(field.name) + " » est manquant."};
        }
    }
}

}  // namespace

std::string Body::text(std::string_view name) const {
    auto it = fields.find(name);
    return it == fields.end() ? std::string{} : it->second.get<std::string>();
}

std::optional<bool> Body::flag(std::string_view name) const {
    auto it = fields.find(name);
    if (it == fields.end()) return std::nullopt;
    return it->second.get<bool>();
}

bool Body::has(std::string_view name) const { return fields.find(name) != fields.end(); }

Body parse_body(const http::Request& request, std::span<const Field> spec, bool empty_ok) {
    if (request.body.size() > limits::kMaxBodyBytes) {
        throw http::Error{413, "body_too_large", "Le contenu envoyé est trop long."};
    }
    Body result;
    if (request.body.empty() && empty_ok) {
        require_fields(result, spec);  // an absent body counts as {}: a required field is still missing
        return result;
    }
    if (!is_json_content_type(request.content_type)) {
        throw http::Error{415, "unsupported_media_type", "Le contenu doit être envoyé au format JSON."};
    }
    const nlohmann::json parsed = parse_bounded(request.body);
    if (parsed.is_discarded() || !parsed.is_object()) {
        throw bad_body("Le contenu envoyé doit être un objet JSON.");
    }
    if (parsed.size() > limits::kMaxJsonFields) throw bad_body("Le contenu envoyé a trop de champs.");
    for (const auto& [name, value] : parsed.items()) {
        const Field* field = find_field(spec, name);
        if (field == nullptr) throw bad_body("Le champ « " + name.substr(0, 32) + " » n'est pas attendu.");
        const bool type_ok = field->kind == Kind::String ? value.is_string() : value.is_boolean();
        if (!type_ok || (value.is_string() && value.get_ref<const std::string&>().size() > field->max_bytes)) {
            throw http::Error{400, std::string(field->error),
                              "Le champ « " + std::string(field->name) + " » n'a pas la bonne forme."};
        }
        result.fields.emplace(name, value);
    }
    require_fields(result, spec);
    return result;
}

std::map<std::string, long, std::less<>> parse_query(std::string_view query, std::span<const QueryKey> spec) {
    std::map<std::string, long, std::less<>> values;
    if (query.size() > limits::kMaxQueryBytes) {
        throw http::Error{400, "invalid_query", "L'adresse demandée est trop longue."};
    }
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        const std::string_view raw = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        const QueryKey* key = nullptr;
        for (const auto& candidate : spec) {
            if (candidate.name == name) key = &candidate;
        }
        if (key == nullptr || values.count(name) != 0) {
            throw http::Error{400, "invalid_query", "Un paramètre de l'adresse n'est pas attendu."};
        }
        const http::Error bad{400, std::string(key->error),
                              "Le paramètre « " + std::string(key->name) + " » doit être un nombre entre " +
                                  std::to_string(key->min) + " et " + std::to_string(key->max) + "."};
        // A minus sign only where the key allows negative values.
        const bool negative = key->min < 0 && !raw.empty() && raw.front() == '-';
        const std::string_view digits = negative ? raw.substr(1) : raw;
        if (digits.empty() || digits.size() > 18) throw bad;
        long value = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') throw bad;
            value = value * 10 + (c - '0');
        }
        if (negative) value = -value;
        if (value < key->min || value > key->max) throw bad;
        values.emplace(std::string(name), value);
    }
    return values;
}

namespace {

// A code point the contract refuses in a message: C0 controls but tab and
// line feed, DEL, C1 controls (U+0080-U+009F: "\u009b2J" clears a
// terminal that shows an export), bidirectional overrides and isolates
// (U+202A-U+202E, U+2066-U+2069: a reversed line in a report) and the
// line and paragraph separators (U+2028, U+2029: a line break that some
// readers show and others do not).
bool is_forbidden(std::uint32_t code) {
    if (code < 0x20) return code != '\t' && code != '\n';
    if (code >= 0x7f && code <= 0x9f) return true;
    if (code >= 0x202a && code <= 0x202e) return true;
    if (code >= 0x2066 && code <= 0x2069) return true;
    return code == 0x2028 || code == 0x2029;
}

bool is_space(std::uint32_t code) {
    return code == ' ' || code == '\t' || code == '\n' || code == 0xa0 || code == 0x1680 ||
           (code >= 0x2000 && code <= 0x200b) || code == 0x202f || code == 0x205f || code == 0x3000 ||
           code == 0xfeff;
}

// Calls `each` with every code point; false at the first invalid sequence.
template <typename Each>
bool decode(std::string_view text, Each each) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        std::uint32_t code = 0;
        if (c < 0x80) { code = c; }
        else if (c >= 0xc2 && c <= 0xdf) { extra = 1; code = c & 0x1fu; }
        else if (c >= 0xe0 && c <= 0xef) { extra = 2; code = c & 0x0fu; }
        else if (c >= 0xf0 && c <= 0xf4) { extra = 3; code = c & 0x07u; }
        else return false;
        if (i + extra >= text.size() && extra > 0) return false;
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            code = (code << 6) | (cc & 0x3fu);
        }
        if ((extra == 2 && code < 0x800) || (extra == 3 && (code < 0x10000 || code > 0x10ffff)) ||
            (code >= 0xd800 && code <= 0xdfff)) {
            return false;
        }
        if (!each(code)) return false;
        i += extra + 1;
    }
    return true;
}

}  // namespace

bool is_clean_utf8(std::string_view text) {
    return decode(text, [](std::uint32_t code) { return !is_forbidden(code); });
}

std::size_t code_points(std::string_view text) {
    std::size_t count = 0;
    for (char c : text) {
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++count;
    }
    return count;
}

bool is_blank(std::string_view text) {
    bool blank = true;
    decode(text, [&blank](std::uint32_t code) {
        blank = is_space(code);
        return blank;  // stops at the first visible character
    });
    return blank;
}

bool is_token_word(std::string_view text, std::size_t max_bytes) {
    return !text.empty() && text.size() <= max_bytes &&
           std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_';
           });
}

}  // namespace abri::input
