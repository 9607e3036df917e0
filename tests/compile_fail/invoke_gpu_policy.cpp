// Must NOT compile: trident::parallel_invoke with trident::automatic (GPU policies run the
// data-parallel algorithms only).  The build is expected to fail with trident's static_assert sentence.
#include <trident/trident.hpp>
#include <trident/task/invoke.hpp>

int main()
{
    auto [a, b] = trident::parallel_invoke(trident::automatic, [] { return 1; }, [] { return 2; });
    return a + b;
}
