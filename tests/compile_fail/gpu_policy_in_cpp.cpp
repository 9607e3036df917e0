// Must NOT compile: trident::gpu named in a translation unit compiled by g++ (not nvcc).
// The build of this file is expected to fail with the static_assert that says to use nvcc.
#include <trident/trident.hpp>

#include <vector>

int main()
{
    std::vector<int> v(10, 1);
    trident::for_each(trident::gpu, v, [](int& x) { x *= 2; });
    return v[0];
}
