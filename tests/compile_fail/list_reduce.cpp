// Must NOT compile: std::list is not a random-access range (reduce).  trident's static_assert must be
// the only error, with the result used.
#include <trident/trident.hpp>

#include <list>

int main()
{
    std::list<int> l(10, 1);
    const int sum = trident::reduce(trident::par, l, 0);
    return sum;
}
