#pragma once
// trident::detail: the item types of a pipeline's stage chain (task/pipeline.hpp).  From the
// source's item type and the stage functions, chain_types computes the type between each pair of
// stages, checking each stage at compile time (its input is the previous output, the last stage
// returns void) with a static_assert whose instantiation names the stage's position and both
// types; slot_value turns the list into the variant an item's storage holds.

#include <cstddef>
#include <optional>
#include <type_traits>
#include <variant>

namespace trident::detail {

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

/// The one parameter type of a non-generic callable (a lambda, a function object with a single
/// operator(), a function pointer), or void when it cannot be told.
template <class F, class = void>
struct single_parameter { using type = void; };
template <class R, class A> struct single_parameter<R (*)(A)> { using type = A; };
template <class C, class R, class A> struct single_parameter<R (C::*)(A)> { using type = A; };
template <class C, class R, class A> struct single_parameter<R (C::*)(A) const> { using type = A; };
template <class C, class R, class A> struct single_parameter<R (C::*)(A) noexcept> { using type = A; };
template <class C, class R, class A> struct single_parameter<R (C::*)(A) const noexcept> { using type = A; };
template <class F>
struct single_parameter<F, std::void_t<decltype(&F::operator())>> : single_parameter<decltype(&F::operator())> {};

/// Stands for the output of a stage that could not be typed (an error was reported already).
struct untyped_stage_output {};

// The compile-time checks of one stage, as a function template so that the compiler names the
// stage's position and both types in the note it prints with the failed assertion:
//   "In instantiation of ... check_stage_types() [with long unsigned int stage_position = 2;
//    previous_stage_output = std::string; stage_input = int; ...]"
template <std::size_t stage_position, class previous_stage_output, class stage_input, class stage_function,
          bool is_last_stage>
constexpr bool check_stage_types()
{
    if constexpr (std::is_same_v<previous_stage_output, untyped_stage_output>) {
        return false;
    } else {
        constexpr bool known_input = !std::is_void_v<stage_input>;
        constexpr bool same_type =
            !known_input || std::is_same_v<std::remove_cvref_t<stage_input>, previous_stage_output>;
        static_assert(same_type,
                      "trident::run_pipeline: the input type of each stage must be the output type of the "
                      "stage before it (the stage's position and both types are named in the 'with' "
                      "list of this instantiation)");
        constexpr bool invocable = std::is_invocable_v<stage_function&, previous_stage_output&&>;
        static_assert(!same_type || invocable,
                      "trident::run_pipeline: a stage function cannot be called with the output of the "
                      "stage before it (see the 'with' list of this instantiation for the types)");
        if constexpr (same_type && invocable) {
            using result = std::invoke_result_t<stage_function&, previous_stage_output&&>;
            static_assert(!is_last_stage || std::is_void_v<result>,
                          "trident::run_pipeline: the last stage must return void: it consumes the items "
                          "(collect results inside it)");
            static_assert(is_last_stage || !std::is_void_v<result>,
                          "trident::run_pipeline: only the last stage may return void; every other stage "
                          "returns the next stage's input");
            static_assert(is_last_stage || std::is_move_constructible_v<std::remove_cvref_t<result>>,
                          "trident::run_pipeline: a stage's output must be move-constructible");
            return true;
        } else {
            return false;
        }
    }
}

template <std::size_t Position, class In, class F, bool Last>
struct stage_output {
    static constexpr bool ok =
        check_stage_types<Position, In, typename single_parameter<F>::type, F, Last>();
    using type = typename std::conditional_t<ok, std::invoke_result<F&, In&&>,
                                             std::type_identity<untyped_stage_output>>::type;
};

template <class... Ts> struct type_list {};

/// The item types between stages: type_list<T0 (the source's), T1, ..., T(k-1)> for k stages.
template <std::size_t Position, class Produced, class In, class... Fs>
struct chain_types;
template <std::size_t Position, class... Ts, class In>
struct chain_types<Position, type_list<Ts...>, In> {
    using type = type_list<Ts..., In>;
};
template <std::size_t Position, class... Ts, class In, class F, class... Rest>
struct chain_types<Position, type_list<Ts...>, In, F, Rest...> {
    using out = std::remove_cvref_t<typename stage_output<Position, In, F, sizeof...(Rest) == 0>::type>;
    using type = std::conditional_t<sizeof...(Rest) == 0, type_list<Ts..., In>,
                                    typename chain_types<Position + 1, type_list<Ts..., In>, out, Rest...>::type>;
};

template <class List> struct slot_value;
template <class... Ts> struct slot_value<type_list<Ts...>> {
    using type = std::variant<std::monostate, Ts...>;
};

} // namespace trident::detail
