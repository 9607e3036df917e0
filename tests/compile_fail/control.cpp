// The control for the compile-failure tests: the same calls with valid arguments compile (so a
// failure of the other targets comes from the checked requirement, not from the build setup).
#include <trident/trident.hpp>

#include <list>
#include <vector>

int main()
{
    std::vector<int> v(10, 1);
    trident::for_each(trident::par, v, [](int& x) { x *= 2; });
    trident::for_each(trident::automatic, v, [](int& x) { x *= 2; });
    std::list<int> l(10, 1);
    return v[0] + l.front();
}
