// Map-reduce statistics over generated records: count, mean, variance, min and max per category.
//
//   record_stats [records]          (default 10,000,000)
//
// Each record (a category 0..7 and a value) is mapped to a table of per-category statistics
// holding that one record; the tables are merged by the reduction (the parallel variance formula
// of Chan, Golub and LeVeque: exact in count, min and max, equal up to rounding in mean and
// variance whatever the grouping).  One map_reduce call, with trident::seq, trident::par and,
// compiled by nvcc, trident::gpu; checks that the tables agree and prints the time per policy.
#include "example_common.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace stats_example {

constexpr int categories = 8;

struct record {
    std::uint32_t category;
    float value;
};

/// count, mean, M2 (sum of squared deviations from the mean), min, max of one category.
struct moments {
    std::uint64_t count;
    double mean, m2, min, max;
};

struct table {
    moments by_category[categories];
};

/// The table of one record.
struct to_table {
    TRIDENT_HOST_DEVICE table operator()(const record& r) const
    {
        table t{};
        const double v = r.value;
        t.by_category[r.category % categories] = moments{1, v, 0.0, v, v};
        return t;
    }
};

/// Merges two tables (associative; empty categories are skipped).
struct merge {
    TRIDENT_HOST_DEVICE table operator()(table a, const table& b) const
    {
        for (int c = 0; c < categories; ++c) {
            moments& x = a.by_category[c];
            const moments& y = b.by_category[c];
            if (y.count == 0)
                continue;
            if (x.count == 0) {
                x = y;
                continue;
            }
            const double n = double(x.count + y.count);
            const double delta = y.mean - x.mean;
            x.mean += delta * double(y.count) / n;
            x.m2 += y.m2 + delta * delta * double(x.count) * double(y.count) / n;
            x.min = y.min < x.min ? y.min : x.min;
            x.max = y.max > x.max ? y.max : x.max;
            x.count += y.count;
        }
        return a;
    }
};

/// Records with a category drawn uniformly and a value whose mean and spread depend on it.
std::vector<record> generate(std::size_t n)
{
    std::vector<record> records(n);
    record* out = records.data();
    trident::for_each_index(trident::par, n, [=](std::size_t i) {
        const auto category = static_cast<std::uint32_t>(example::random_bits(11, i) % categories);
        const double u = example::random_unit(12, i);
        out[i] = record{category, static_cast<float>(10.0 * category + (1.0 + category) * (u - 0.5))};
    });
    return records;
}

template <class Policy>
table statistics(const Policy& policy, const std::vector<record>& records)
{
    return trident::map_reduce(policy, records, to_table{}, table{}, merge{});
}

bool close(double a, double b, double relative)
{
    return std::fabs(a - b) <= relative * std::fmax(1.0, std::fmax(std::fabs(a), std::fabs(b)));
}

/// Whether two tables agree: counts, min and max exactly, mean and variance within `relative`.
bool agree(const table& a, const table& b, double relative)
{
    for (int c = 0; c < categories; ++c) {
        const moments& x = a.by_category[c];
        const moments& y = b.by_category[c];
        if (x.count != y.count || x.min != y.min || x.max != y.max || !close(x.mean, y.mean, relative) ||
            !close(x.m2, y.m2, relative))
            return false;
    }
    return true;
}

void print(const table& t)
{
    std::printf("  category        count         mean     variance          min          max\n");
    for (int c = 0; c < categories; ++c) {
        const moments& m = t.by_category[c];
        const double variance = m.count > 1 ? m.m2 / double(m.count - 1) : 0.0;
        std::printf("  %8d %12llu %12.5f %12.5f %12.5f %12.5f\n", c, static_cast<unsigned long long>(m.count), m.mean,
                    variance, m.min, m.max);
    }
}

} // namespace stats_example

template <> inline constexpr bool trident::is_device_callable_v<stats_example::to_table> = true;
template <> inline constexpr bool trident::is_device_callable_v<stats_example::merge> = true;

int main(int argc, char** argv)
{
    using namespace stats_example;
    const std::size_t n = example::size_argument(argc, argv, 10'000'000, "records");
    const std::vector<record> records = generate(n);
    std::printf("record_stats: %zu records, %d categories\n", n, categories);

    bool ok = true;
    const auto seq_run = example::timed([&] { return statistics(trident::seq, records); });
    const table& reference = seq_run.first;
    print(reference);
    example::print_time("seq", seq_run.second, 0);
    std::uint64_t total = 0;
    for (const moments& m : reference.by_category)
        total += m.count;
    if (total != n) {
        std::printf("seq: the counts add up to %llu, not %zu\n", static_cast<unsigned long long>(total), n);
        ok = false;
    }

    auto check = [&](const char* policy, const table& t, double ms) {
        example::print_time(policy, ms, seq_run.second);
        if (!agree(reference, t, 1e-9)) {
            std::printf("%s: MISMATCH with seq:\n", policy);
            print(t);
            return false;
        }
        return true;
    };
    const auto par_run = example::timed([&] { return statistics(trident::par, records); });
    ok &= check("par", par_run.first, par_run.second);
#if defined(__CUDACC__)
    ok &= example::run_gpu_part([&] {
        const auto gpu_run = example::timed([&] { return statistics(trident::gpu, records); });
        return check("gpu", gpu_run.first, gpu_run.second);
    });
#endif
    std::printf(ok ? "policies agree\n" : "FAILED\n");
    return ok ? 0 : 1;
}
