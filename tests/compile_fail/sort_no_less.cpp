// Must NOT compile: the elements have no operator< and no comparator is given.
#include <trident/trident.hpp>

#include <vector>

struct point {
    int x, y;
};

int main()
{
    std::vector<point> v{{1, 2}, {0, 1}};
    trident::sort(trident::par, v);
    return v[0].x;
}
