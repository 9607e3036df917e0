// A consumer of trident: sums 1..n on every core and checks the result.
#include <trident/trident.hpp>

#include <cstdio>
#include <numeric>
#include <vector>

#ifndef CONSUMER_NAME
#  define CONSUMER_NAME "?"
#endif

int main()
{
    constexpr long long n = 100000;
    std::vector<long long> values(n);
    std::iota(values.begin(), values.end(), 1LL);
    const long long sum = trident::reduce(trident::par, values, 0LL);
    const long long expected = n * (n + 1) / 2;
    std::printf("trident %s: reduce(par, 1..%lld) = %lld (expected %lld)\n", TRIDENT_VERSION_STRING, n, sum, expected);
    if (sum != expected) {
        std::printf("consumer " CONSUMER_NAME ": WRONG RESULT\n");
        return 1;
    }
    std::printf("consumer " CONSUMER_NAME ": ok\n");
    return 0;
}
