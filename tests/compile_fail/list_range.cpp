// Must NOT compile: std::list is not a random-access range.
// The build of this file is expected to fail with trident's static_assert sentence.
#include <trident/trident.hpp>

#include <list>

int main()
{
    std::list<int> l(10, 1);
    trident::for_each(trident::par, l, [](int& x) { x *= 2; });
    return l.front();
}
