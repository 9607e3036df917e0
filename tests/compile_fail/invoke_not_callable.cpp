// Must NOT compile: an argument of trident::parallel_invoke that is not callable with no arguments.
// The build is expected to fail with trident's static_assert sentence.
#include <trident/trident.hpp>
#include <trident/task/invoke.hpp>

int main()
{
    auto [a, b] = trident::parallel_invoke(trident::par, [] { return 1; }, 2);
    return a;
}
