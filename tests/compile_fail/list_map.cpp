// Must NOT compile: std::list is not a random-access range (map's input).  trident's static_assert
// must be the only error, with the result used.
#include <trident/trident.hpp>

#include <list>

int main()
{
    std::list<int> l(10, 1);
    auto out = trident::map(trident::par, l, [](int x) { return 2 * x; });
    return out[0];
}
