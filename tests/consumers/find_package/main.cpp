// A consumer of trident: sums 1..n on every core and multiplies two small matrices through the BLAS
// trident links (trident::gemm), and checks the results.
#include <trident/trident.hpp>

#include <cstdio>
#include <numeric>
#include <vector>

#ifndef CONSUMER_NAME
#  define CONSUMER_NAME "?"
#endif

#if defined(CONSUMER_WITH_CUDA)
bool cuda_part(); // cuda_part.cu
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
    // [1 2 3; 4 5 6] x [1 0; 0 1; 1 1] = [4 5; 10 11]
    const double a[] = {1, 2, 3, 4, 5, 6}, b[] = {1, 0, 0, 1, 1, 1};
    double c[4] = {};
    trident::gemm(trident::par, trident::matrix_view<const double>(a, 2, 3), trident::matrix_view<const double>(b, 3, 2),
                  trident::matrix_view<double>(c, 2, 2));
    std::printf("gemm: [%g %g; %g %g] (expected [4 5; 10 11])\n", c[0], c[1], c[2], c[3]);
    if (c[0] != 4 || c[1] != 5 || c[2] != 10 || c[3] != 11) {
        std::printf("consumer " CONSUMER_NAME ": WRONG RESULT of gemm\n");
        return 1;
    }
#if defined(CONSUMER_WITH_CUDA)
    if (!cuda_part()) {
        std::printf("consumer " CONSUMER_NAME ": WRONG RESULT in the CUDA source\n");
        return 1;
    }
#endif
    std::printf("consumer " CONSUMER_NAME ": ok\n");
    return 0;
}
