// trident::comm: the in-process collectives against a sequential reference (sizes 0, 1, odd,
// large; N = 1..5 ranks on std::threads; every element type and operator), bitwise equality across
// ranks, and the errors: bad input on one rank, calls that do not match, abort, leave, timeout.
// Catch2 assertions run only on the test's thread: ranks record what they saw, the test checks it.

#include <trident/comm/communicator.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace comm = trident::comm;

namespace {

#if defined(TRIDENT_TESTS_SANITIZED)
constexpr std::size_t large = (1u << 15) + 3;
#else
constexpr std::size_t large = (1u << 18) + 3;
#endif
const std::vector<std::size_t> sizes = {0, 1, 7, 1025, large};

// Rank k's element i: values of mixed magnitude, so that the order of a float sum shows in its bits.
template <class T>
T value(int rank, std::size_t i)
{
    std::uint64_t x = (static_cast<std::uint64_t>(rank) + 1) * 0x9E3779B97F4A7C15ull ^ (i * 0xBF58476D1CE4E5B9ull);
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    if constexpr (std::is_floating_point_v<T>) {
        const double unit = static_cast<double>(x >> 11) / 9007199254740992.0 - 0.5; // [-0.5, 0.5)
        const double scale = (x & 3) == 0 ? 1e6 : (x & 3) == 1 ? 1e-3 : 1.0;
        return static_cast<T>(unit * scale);
    } else {
        return static_cast<T>(static_cast<std::int64_t>(x % 2001) - 1000);
    }
}

template <class T>
std::vector<T> input(int rank, std::size_t n, std::size_t offset = 0)
{
    std::vector<T> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = value<T>(rank, i + offset);
    return v;
}

// The sequential reference: element i of every rank combined in rank order (average: then / N).
template <class T>
std::vector<T> reference(int ranks, std::size_t n, comm::reduce_op op, std::size_t offset = 0)
{
    std::vector<T> out = input<T>(0, n, offset);
    for (int k = 1; k < ranks; ++k) {
        const std::vector<T> x = input<T>(k, n, offset);
        for (std::size_t i = 0; i < n; ++i) {
            if (op == comm::reduce_op::min)
                out[i] = std::min(out[i], x[i]);
            else if (op == comm::reduce_op::max)
                out[i] = std::max(out[i], x[i]);
            else
                out[i] = static_cast<T>(out[i] + x[i]);
        }
    }
    if (op == comm::reduce_op::average)
        for (auto& x : out)
            x = x / static_cast<T>(ranks);
    return out;
}

template <class T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b)
{
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// Runs f(communicator) on every rank of a fresh group with plain std::threads and returns what each
// rank threw (as a message, "" when nothing), for the error tests.
template <class F>
std::vector<std::string> run_collecting(int ranks, F f, comm::group_options options = {})
{
    comm::in_process_group group(ranks, options);
    std::vector<std::string> errors(static_cast<std::size_t>(ranks));
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r)
        threads.emplace_back([&, r] {
            try {
                f(group.at(r));
            } catch (const std::invalid_argument& e) {
                errors[static_cast<std::size_t>(r)] = std::string("invalid_argument: ") + e.what();
            } catch (const comm::collective_timeout& e) {
                errors[static_cast<std::size_t>(r)] = std::string("collective_timeout: ") + e.what();
            } catch (const comm::group_aborted& e) {
                errors[static_cast<std::size_t>(r)] =
                    "group_aborted by " + std::to_string(e.rank()) + ": " + e.what();
            } catch (const std::exception& e) {
                errors[static_cast<std::size_t>(r)] = std::string("other: ") + e.what();
            }
        });
    for (auto& t : threads)
        t.join();
    return errors;
}

template <class T>
void check_all_reduce(comm::reduce_op op)
{
    for (int ranks = 1; ranks <= 5; ++ranks) {
        for (std::size_t n : sizes) {
            std::vector<std::vector<T>> out(static_cast<std::size_t>(ranks)), in_place(out.size());
            comm::run_in_process(ranks, [&](comm::communicator c) {
                const std::vector<T> send = input<T>(c.rank(), n);
                std::vector<T> recv(n, T(7));
                c.all_reduce(send, recv, op);
                std::vector<T> data = input<T>(c.rank(), n);
                c.all_reduce(data, op);
                out[static_cast<std::size_t>(c.rank())] = recv;
                in_place[static_cast<std::size_t>(c.rank())] = data;
            });
            const std::vector<T> expected = reference<T>(ranks, n, op);
            INFO("ranks " << ranks << ", n " << n << ", op " << static_cast<int>(op));
            for (int r = 0; r < ranks; ++r) {
                CHECK(bitwise_equal(out[static_cast<std::size_t>(r)], expected));
                CHECK(bitwise_equal(in_place[static_cast<std::size_t>(r)], expected));
            }
        }
    }
}

} // namespace

TEST_CASE("all_reduce equals the rank-order reference bitwise on every rank", "[comm]")
{
    for (auto op : {comm::reduce_op::sum, comm::reduce_op::average, comm::reduce_op::min, comm::reduce_op::max}) {
        check_all_reduce<float>(op);
        check_all_reduce<double>(op);
    }
    for (auto op : {comm::reduce_op::sum, comm::reduce_op::min, comm::reduce_op::max}) {
        check_all_reduce<std::int32_t>(op);
        check_all_reduce<std::int64_t>(op);
    }
}

TEST_CASE("the reference's order matters: a float sum in another order differs", "[comm]")
{
    // Guards the bitwise checks above: with these inputs, summing the ranks in reverse order gives
    // other bits, so a transport that reduced in arrival order would fail them.
    const std::size_t n = 1025;
    const std::vector<float> forward = reference<float>(4, n, comm::reduce_op::sum);
    std::vector<float> backward = input<float>(3, n);
    for (int k = 2; k >= 0; --k) {
        const std::vector<float> x = input<float>(k, n);
        for (std::size_t i = 0; i < n; ++i)
            backward[i] += x[i];
    }
    CHECK_FALSE(bitwise_equal(forward, backward));
}

TEST_CASE("reduce_scatter gives rank r the reduction of block r", "[comm]")
{
    for (int ranks = 1; ranks <= 5; ++ranks) {
        for (std::size_t m : sizes) {
            for (auto op : {comm::reduce_op::sum, comm::reduce_op::average, comm::reduce_op::max}) {
                std::vector<std::vector<double>> out(static_cast<std::size_t>(ranks));
                comm::run_in_process(ranks, [&](comm::communicator c) {
                    const std::vector<double> send = input<double>(c.rank(), m * static_cast<std::size_t>(ranks));
                    std::vector<double> recv(m, -1.0);
                    c.reduce_scatter(send, recv, op);
                    out[static_cast<std::size_t>(c.rank())] = recv;
                });
                const std::vector<double> all = reference<double>(ranks, m * static_cast<std::size_t>(ranks), op);
                INFO("ranks " << ranks << ", m " << m);
                for (int r = 0; r < ranks; ++r) {
                    const auto first = all.begin() + static_cast<std::ptrdiff_t>(m * static_cast<std::size_t>(r));
                    CHECK(bitwise_equal(out[static_cast<std::size_t>(r)], std::vector<double>(first, first + static_cast<std::ptrdiff_t>(m))));
                }
            }
        }
    }
}

TEST_CASE("all_gather puts rank k's block at position k on every rank", "[comm]")
{
    for (int ranks = 1; ranks <= 5; ++ranks) {
        for (std::size_t m : sizes) {
            std::vector<std::vector<float>> out(static_cast<std::size_t>(ranks));
            comm::run_in_process(ranks, [&](comm::communicator c) {
                const std::vector<float> send = input<float>(c.rank(), m);
                std::vector<float> recv(m * static_cast<std::size_t>(ranks), -1.0f);
                c.all_gather(send, recv);
                out[static_cast<std::size_t>(c.rank())] = recv;
            });
            std::vector<float> expected;
            for (int k = 0; k < ranks; ++k) {
                const std::vector<float> block = input<float>(k, m);
                expected.insert(expected.end(), block.begin(), block.end());
            }
            INFO("ranks " << ranks << ", m " << m);
            for (const auto& o : out)
                CHECK(bitwise_equal(o, expected));
        }
    }
}

TEST_CASE("broadcast copies the root's data to every rank, for every root", "[comm]")
{
    for (int ranks = 1; ranks <= 4; ++ranks) {
        for (std::size_t n : sizes) {
            for (int root = 0; root < ranks; ++root) {
                std::vector<std::vector<std::int64_t>> out(static_cast<std::size_t>(ranks));
                comm::run_in_process(ranks, [&](comm::communicator c) {
                    std::vector<std::int64_t> data = input<std::int64_t>(c.rank(), n);
                    c.broadcast(data, root);
                    out[static_cast<std::size_t>(c.rank())] = data;
                });
                INFO("ranks " << ranks << ", n " << n << ", root " << root);
                for (const auto& o : out)
                    CHECK(bitwise_equal(o, input<std::int64_t>(root, n)));
            }
        }
    }
}

TEST_CASE("barrier: what a rank wrote before it is seen by every rank after it", "[comm]")
{
    for (int ranks = 1; ranks <= 5; ++ranks) {
        constexpr int rounds = 50;
        std::vector<int> written(static_cast<std::size_t>(ranks), -1); // plain ints: TSan checks the ordering
        std::vector<int> wrong(static_cast<std::size_t>(ranks), 0);
        comm::run_in_process(ranks, [&](comm::communicator c) {
            for (int round = 0; round < rounds; ++round) {
                written[static_cast<std::size_t>(c.rank())] = round;
                c.barrier();
                for (int k = 0; k < ranks; ++k)
                    if (written[static_cast<std::size_t>(k)] != round)
                        ++wrong[static_cast<std::size_t>(c.rank())];
                c.barrier();
            }
        });
        for (int w : wrong)
            CHECK(w == 0);
    }
}

TEST_CASE("bad input on one rank is invalid_argument there and aborts the others", "[comm][errors]")
{
    SECTION("root outside the group")
    {
        const auto errors = run_collecting(3, [](comm::communicator c) {
            std::vector<float> data(4);
            c.broadcast(data, c.rank() == 1 ? 7 : 0);
        });
        CHECK_THAT(errors[1], Catch::Contains("invalid_argument") && Catch::Contains("broadcast on rank 1: root 7 is outside [0, 3)"));
        CHECK_THAT(errors[0], Catch::Contains("group_aborted by 1") && Catch::Contains("root 7"));
        CHECK_THAT(errors[2], Catch::Contains("group_aborted by 1"));
    }
    SECTION("null buffer with a non-zero count")
    {
        struct null_buffer { // a contiguous range whose data() is null and size() is 5
            float* data() const { return nullptr; }
            std::size_t size() const { return 5; }
            float* begin() const { return nullptr; }
            float* end() const { return nullptr; }
        };
        const auto errors = run_collecting(2, [](comm::communicator c) {
            std::vector<float> recv(5);
            if (c.rank() == 0)
                c.all_reduce(null_buffer{}, recv);
            else
                c.all_reduce(recv); // in place on rank 1 (waits)
        });
        CHECK_THAT(errors[0], Catch::Contains("invalid_argument") && Catch::Contains("send buffer is null with 5 elements"));
        CHECK_THAT(errors[1], Catch::Contains("group_aborted by 0"));
    }
    SECTION("sizes that do not fit, an integer average")
    {
        auto errors = run_collecting(2, [](comm::communicator c) {
            std::vector<float> send(6), recv(c.rank() == 0 ? 3u : 2u);
            c.reduce_scatter(send, recv);
        });
        CHECK_THAT(errors[1], Catch::Contains("send has 6 elements; it must have size() * recv.size() = 2 * 2"));
        errors = run_collecting(2, [](comm::communicator c) {
            std::vector<int> data(3);
            c.all_reduce(data, comm::reduce_op::average);
        });
        CHECK_THAT(errors[0] + errors[1], Catch::Contains("reduce_op::average needs float or double"));
        errors = run_collecting(1, [](comm::communicator c) {
            std::vector<double> send(3), recv(4);
            c.all_reduce(send, recv);
        });
        CHECK_THAT(errors[0], Catch::Contains("send has 3 elements but recv has 4"));
    }
    SECTION("the group's constructor and at()")
    {
        CHECK_THROWS_WITH(comm::in_process_group(0), Catch::Contains("ranks must be at least 1, got 0"));
        CHECK_THROWS_WITH(comm::in_process_group(2).at(2), Catch::Contains("rank 2 is outside [0, 2)"));
    }
}

TEST_CASE("calls that do not match across ranks are invalid_argument on every rank", "[comm][errors]")
{
    SECTION("counts")
    {
        const auto errors = run_collecting(3, [](comm::communicator c) {
            std::vector<double> data(c.rank() == 2 ? 5u : 4u);
            c.all_reduce(data);
        });
        for (const auto& e : errors)
            CHECK_THAT(e, Catch::Contains("invalid_argument") &&
                              Catch::Contains("all_reduce with different counts (rank 0: 4, rank 1: 4, rank 2: 5)"));
    }
    SECTION("collectives, element types, operators, roots")
    {
        auto errors = run_collecting(2, [](comm::communicator c) {
            std::vector<float> data(4);
            if (c.rank() == 0)
                c.all_reduce(data);
            else
                c.broadcast(data, 0);
        });
        CHECK_THAT(errors[1], Catch::Contains("different collectives (rank 0: all_reduce, rank 1: broadcast)"));
        errors = run_collecting(2, [](comm::communicator c) {
            if (c.rank() == 0) {
                std::vector<float> data(4);
                c.all_reduce(data);
            } else {
                std::vector<double> data(4);
                c.all_reduce(data);
            }
        });
        CHECK_THAT(errors[0], Catch::Contains("different element types (rank 0: float, rank 1: double)"));
        errors = run_collecting(2, [](comm::communicator c) {
            std::vector<float> data(4);
            c.all_reduce(data, c.rank() == 0 ? comm::reduce_op::sum : comm::reduce_op::max);
        });
        CHECK_THAT(errors[1], Catch::Contains("different operators"));
        errors = run_collecting(2, [](comm::communicator c) {
            std::vector<float> data(4);
            c.broadcast(data, c.rank());
        });
        CHECK_THAT(errors[0], Catch::Contains("different roots (rank 0: 0, rank 1: 1)"));
        // The group stays aborted: a later call throws group_aborted.
        errors = run_collecting(2, [](comm::communicator c) {
            std::vector<float> data(c.rank() + 1u);
            try {
                c.all_reduce(data);
            } catch (const std::invalid_argument&) {
            }
            c.barrier();
        });
        CHECK_THAT(errors[0], Catch::Contains("group_aborted") && Catch::Contains("different counts"));
    }
    SECTION("overlapping receive buffers")
    {
        std::vector<float> shared(8);
        const auto errors = run_collecting(2, [&](comm::communicator c) {
            std::vector<float> send(8);
            c.all_reduce(send, shared);
        });
        CHECK_THAT(errors[0], Catch::Contains("rank 0's receive buffer overlaps rank 1's receive buffer"));
    }
}

TEST_CASE("abort wakes every waiter with the aborting rank's name and reason", "[comm][errors]")
{
    const auto errors = run_collecting(4, [](comm::communicator c) {
        std::vector<float> data(100);
        if (c.rank() == 2) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20)); // let the others wait first
            c.abort("loss became NaN");
            c.barrier(); // after its own abort: throws too
        }
        c.all_reduce(data);
    });
    for (int r = 0; r < 4; ++r) {
        INFO("rank " << r);
        CHECK_THAT(errors[static_cast<std::size_t>(r)], Catch::Contains("group_aborted by 2") &&
                                                            Catch::Contains("rank 2 aborted the group: loss became NaN"));
    }
}

TEST_CASE("run_in_process: a throwing rank reaches the caller, a rank that leaves is named", "[comm][errors]")
{
    CHECK_THROWS_WITH(comm::run_in_process(3,
                                           [](comm::communicator c) {
                                               std::vector<float> data(10);
                                               if (c.rank() == 1)
                                                   throw std::runtime_error("shard 1 failed");
                                               c.all_reduce(data);
                                           }),
                      "shard 1 failed");
    CHECK_THROWS_AS(comm::run_in_process(3,
                                         [](comm::communicator c) {
                                             std::vector<float> data(10);
                                             if (c.rank() != 2) // rank 2 returns without the collective
                                                 c.all_reduce(data);
                                         }),
                    comm::group_aborted);
    try {
        comm::run_in_process(3, [](comm::communicator c) {
            std::vector<float> data(10);
            if (c.rank() != 2)
                c.all_reduce(data);
        });
    } catch (const comm::group_aborted& e) {
        CHECK(e.rank() == 2);
        CHECK_THAT(e.what(), Catch::Contains("rank 2 left the group without taking part in all_reduce"));
    }
}

TEST_CASE("timeout: the ranks not arrived are named, the late rank finds the group aborted", "[comm][errors]")
{
    std::atomic<bool> timed_out{false};
    std::latch on_time(2); // ranks 0 and 2 enter the collective together, long before the timeout
    const auto errors = run_collecting(
        3,
        [&](comm::communicator c) {
            std::vector<float> data(10);
            if (c.rank() == 1) { // late: arrives after the others gave up
                while (!c.aborted())
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                timed_out = true;
            } else {
                on_time.arrive_and_wait();
            }
            c.all_reduce(data);
        },
        comm::group_options{.timeout = std::chrono::milliseconds(300)});
    CHECK(timed_out);
    CHECK_THAT(errors[0] + errors[2], Catch::Contains("collective_timeout") &&
                                          Catch::Contains("waiting for rank(s) 1, which had not arrived"));
    CHECK_THAT(errors[1], Catch::Contains("group_aborted") && Catch::Contains("waiting for rank(s) 1"));
}
