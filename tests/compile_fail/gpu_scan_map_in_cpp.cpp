// Must NOT compile: trident::gpu with map, map_reduce and a scan in a translation unit compiled by
// g++ (not nvcc), their results used.  The static_assert that says to use nvcc must be the only
// error, once per call.
#include <trident/trident.hpp>

#include <vector>

int main()
{
    std::vector<int> v(10, 1), w(10);
    const std::vector<int> doubled = trident::map(trident::gpu, v, [](int x) { return 2 * x; });
    const long total = trident::map_reduce(trident::gpu, v, [](int x) { return long{x}; }, 0L);
    auto end = trident::exclusive_scan(trident::gpu, v, w, 0);
    return doubled[0] + static_cast<int>(total) + static_cast<int>(end - w.begin());
}
