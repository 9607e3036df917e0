// Must compile: task/pipeline_types.hpp (the pipeline's public values) includes no oneTBB header,
// so that code describing stages or reading statistics does not need oneTBB's headers.  Every
// oneTBB header includes oneapi/tbb/detail/_config.h, which defines __TBB_detail__config_H.
#include <trident/task/pipeline_types.hpp>

#if defined(__TBB_detail__config_H)
#  error "trident/task/pipeline_types.hpp includes a oneTBB header; it must include standard headers only"
#endif

#include <iostream>
#include <optional>

int main()
{
    const auto load = trident::source("load", []() -> std::optional<int> { return std::nullopt; });
    const auto train = trident::stage("train", trident::parallel_out_of_order.limit(3), [](int) {});
    trident::pipeline_stats stats;
    stats.stages.resize(2);
    stats.stages[0].name = load.name;
    stats.stages[1].name = train.name;
    stats.stages[1].mode = train.mode;
    std::cout << stats;
    return train.mode.limit() == 3 ? 0 : 1;
}
