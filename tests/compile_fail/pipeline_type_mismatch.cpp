// Must not compile: the second stage takes an int, the stage before it makes std::string.
#include <trident/task/pipeline.hpp>

#include <optional>
#include <string>

int main()
{
    int i = 0;
    trident::run_pipeline(trident::par, trident::source([&]() -> std::optional<int> {
                              if (i == 3)
                                  return std::nullopt;
                              return i++;
                          }),
                          trident::stage(trident::parallel_out_of_order, [](int x) { return std::to_string(x); }),
                          trident::stage(trident::serial_in_order, [](int) {}));
}
