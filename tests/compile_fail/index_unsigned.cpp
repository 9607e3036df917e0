// Must NOT compile: for_each_index with f(unsigned): the index would wrap silently from 2^32 on.
// trident's static_assert (take std::size_t) must be the only error.
#include <trident/trident.hpp>

#include <vector>

int main()
{
    std::vector<unsigned> v(10, 0);
    trident::for_each_index(trident::par, v.size(), [&](unsigned i) { v[i] = i; });
    return static_cast<int>(v[0]);
}
