// Must NOT compile: a const std::vector<std::string> cannot be sorted.
#include <trident/trident.hpp>

#include <string>
#include <vector>

int main()
{
    const std::vector<std::string> v{"b", "a"};
    trident::sort(trident::par, v);
    return static_cast<int>(v.size());
}
