// Must NOT compile: for_each_index with f(int): the index would wrap silently from 2^31 on.
// trident's static_assert (take std::size_t) must be the only error.
#include <trident/trident.hpp>

#include <vector>

int main()
{
    std::vector<int> v(10, 0);
    trident::for_each_index(trident::par, v.size(), [&](int i) { v[static_cast<std::size_t>(i)] = i; });
    return v[0];
}
