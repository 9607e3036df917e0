// Must NOT compile: the elements of a std::span<const int> are const and cannot be reordered.
#include <trident/trident.hpp>

#include <span>
#include <vector>

int main()
{
    std::vector<int> v{3, 1, 2};
    trident::sort(trident::par, std::span<const int>(v));
    return v[0];
}
