#pragma once
// JSON string escaping for the files trident writes (explain's Chrome trace,
// explain/chrome_trace.hpp): the string in double quotes, with '"' and '\' escaped, the usual
// short escapes for \n \r \t and \u00XX for every other control character.  Bytes from 0x80 on
// pass unchanged (UTF-8 stays UTF-8).

#include <ostream>
#include <string_view>

namespace trident::detail {

inline void write_json_string(std::ostream& os, std::string_view s)
{
    os << '"';
    for (const char ch : s) {
        const auto u = static_cast<unsigned char>(ch);
        switch (ch) {
        case '"': os << "\\\""; break;
        case '\\': os << "\\\\"; break;
        case '\n': os << "\\n"; break;
        case '\r': os << "\\r"; break;
        case '\t': os << "\\t"; break;
        default:
            if (u < 0x20) {
                static constexpr char hex[] = "0123456789abcdef";
                os << "\\u00" << hex[u >> 4] << hex[u & 15];
            } else {
                os << ch;
            }
        }
    }
    os << '"';
}

} // namespace trident::detail
