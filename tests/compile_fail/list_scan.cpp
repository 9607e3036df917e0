// Must NOT compile: std::list is not a random-access range (a scan's input).  trident's
// static_assert must be the only error, with the result used.
#include <trident/trident.hpp>

#include <list>
#include <vector>

int main()
{
    std::list<int> l(10, 1);
    std::vector<int> out(10);
    auto end = trident::inclusive_scan(trident::par, l, out);
    return static_cast<int>(end - out.begin());
}
