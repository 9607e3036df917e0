// The control for the compile-failure tests: the same calls with valid arguments compile (so a
// failure of the other targets comes from the checked requirement, not from the build setup).
#include <trident/trident.hpp>
#include <trident/task/invoke.hpp>

#include <list>
#include <optional>
#include <string>
#include <vector>

int main()
{
    std::vector<int> v(10, 1);
    trident::for_each(trident::par, v, [](int& x) { x *= 2; });
    trident::for_each(trident::automatic, v, [](int& x) { x *= 2; });
    trident::for_each_index(trident::par, v.size(), [&](std::size_t i) { v[i] += 1; });
    const std::vector<int> doubled = trident::map(trident::par, v, [](int x) { return 2 * x; });
    std::vector<int> w(10);
    auto end = trident::exclusive_scan(trident::par, v, w, 0);
    const int sum = trident::reduce(trident::par, v, 0) + doubled[0] + static_cast<int>(end - w.begin());
    int i = 0;
    trident::run_pipeline(trident::par, trident::source([&]() -> std::optional<int> {
                              if (i == 3)
                                  return std::nullopt;
                              return i++;
                          }),
                          trident::stage(trident::parallel_out_of_order, [](int x) { return std::to_string(x); }),
                          trident::stage(trident::serial_in_order, [](const std::string&) {}));
    auto [a, b] = trident::parallel_invoke(trident::par, [] { return 1; }, [] { return 2; });
    std::list<int> l(10, 1);
    std::vector<float> ga(6, 1.0f), gb(6, 1.0f), gc(4); // gemm_int.cpp, on floats
    trident::gemm(trident::par, trident::matrix_view<const float>(ga.data(), 2, 3),
                  trident::matrix_view<const float>(gb.data(), 3, 2), trident::matrix_view<float>(gc.data(), 2, 2));
    return v[0] + l.front() + a + b + sum + static_cast<int>(gc[0]);
}
