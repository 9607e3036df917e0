// Must not compile: the policy's executor has no for_tasks, and the check names the member.
#include <trident/trident.hpp>

#include <cstddef>
#include <optional>
#include <type_traits>
#include <vector>

struct half_policy {};

struct half_executor {
    static constexpr bool is_parallel = false;
    int concurrency() const { return 1; }
    std::size_t grain() const { return 0; }
    template <class Body>
    void for_chunks(std::size_t n, Body&& body) const
    {
        body(std::size_t{0}, n);
    }
    template <class Chunk, class Combine>
    auto reduce_chunks(std::size_t n, Chunk&& chunk, Combine&&) const
        -> std::optional<std::decay_t<decltype(chunk(std::size_t{}, std::size_t{}))>>
    {
        if (n == 0)
            return std::nullopt;
        return chunk(std::size_t{0}, n);
    }
    // for_tasks is missing
};

template <>
struct trident::executor_of<half_policy> {
    static half_executor make(const half_policy&) { return {}; }
};

int main()
{
    std::vector<int> v(10, 1);
    return trident::reduce(half_policy{}, v, 0) == 10 ? 0 : 1;
}
