// Must NOT compile: std::vector<bool> hands out proxy references to bits sharing a word.
#include <trident/trident.hpp>

#include <vector>

int main()
{
    std::vector<bool> v{true, false, true};
    trident::sort(trident::par, v);
    return v[0] ? 1 : 0;
}
