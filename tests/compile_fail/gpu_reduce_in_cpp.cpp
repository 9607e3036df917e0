// Must NOT compile: trident::gpu with reduce in a translation unit compiled by g++ (not nvcc), its
// result used.  The static_assert that says to use nvcc must be the only error (before the fix
// "void value not ignored" came first).
#include <trident/trident.hpp>

#include <vector>

int main()
{
    std::vector<int> v(10, 1);
    const int sum = trident::reduce(trident::gpu, v, 0);
    return sum;
}
