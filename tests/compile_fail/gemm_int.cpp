// Must NOT compile: trident::gemm on int matrices (the BLAS multiplies float or double).  trident's
// static_assert must be the only error.
#include <trident/trident.hpp>

#include <vector>

int main()
{
    std::vector<int> a(6, 1), b(6, 1), c(4);
    trident::gemm(trident::par, trident::matrix_view<const int>(a.data(), 2, 3),
                  trident::matrix_view<const int>(b.data(), 3, 2), trident::matrix_view<int>(c.data(), 2, 2));
    return c[0];
}
