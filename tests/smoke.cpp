#include <trident/trident.hpp>
#include <cstdio>
#include <numeric>
#include <random>
int main() {
  std::vector<double> x(1000000); std::iota(x.begin(), x.end(), 1.0);
  auto y = trident::map(trident::par, x, [](double v){ return v*2; });
  double s = trident::reduce(trident::par.threads(2), y, 0.0);
  double s2 = trident::map_reduce(trident::seq, x, [](double v){ return v; }, 0.0);
  std::vector<double> o(x.size());
  trident::inclusive_scan(trident::par, x, o);
  std::vector<unsigned> k(3000000); std::mt19937 g(1); for (auto& v : k) v = g();
  auto k2 = k; std::sort(k2.begin(), k2.end());
  trident::sort(trident::par, k);
  std::vector<std::string> str{"b","a","c"}; trident::stable_sort(trident::par, str);
  std::vector<double> d(100000); for (auto& v: d) v = std::normal_distribution<>()(g); auto d2=d; std::sort(d2.begin(), d2.end());
  trident::stable_sort(trident::par, d, std::less<>{});
  trident::for_each_index(trident::par, 10, [](std::size_t){});
  std::printf("%g %g %g %d %d %d\n", s, s2, o.back(), k == k2, str[0]=="a", d==d2);
}
