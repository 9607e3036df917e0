// Must NOT compile: std::list is not a random-access range (one static_assert, no cascade after it).
#include <trident/trident.hpp>

#include <list>

int main()
{
    std::list<int> l{3, 1, 2};
    trident::sort(trident::par, l);
    return l.front();
}
