#pragma once
// The CPU policies every shared check runs under, each with a printable name.

#include "trident/trident.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace trident_test {

/// A group of two cores shared by the tests that run with par.on(cores).
inline trident::thread_arena& test_cores()
{
    static trident::thread_arena cores(2);
    return cores;
}

/// Calls body(policy) for seq, par, par.threads(1, 2, 3, 8), par.grain(1), par.grain(1000),
/// automatic (par without nvcc) and par.on(a group of 2 cores), with the policy's name in INFO.
template <class Body>
void for_each_cpu_policy(Body&& body)
{
    auto run = [&](const std::string& name, const auto& policy) {
        INFO("policy: " << name);
        body(policy);
    };
    run("seq", trident::seq);
    run("par", trident::par);
    for (int t : {1, 2, 3, 8})
        run("par.threads(" + std::to_string(t) + ")", trident::par.threads(t));
    run("par.grain(1)", trident::par.grain(1));
    run("par.grain(1000)", trident::par.grain(1000));
    run("automatic", trident::automatic);
    run("par.on(thread_arena(2))", trident::par.on(test_cores()));
}

} // namespace trident_test
