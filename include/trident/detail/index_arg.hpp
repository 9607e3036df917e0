#pragma once
// for_each_index's check that f takes its index as a type that holds every std::size_t index.
//
// f(int) or f(unsigned) would compile (std::size_t converts implicitly) and wrap silently from
// index 2^31 or 2^32 on.  The probe type index_arg converts implicitly to integer types of at least
// 64 bits only (a conversion function template is deduced for the exact parameter type, so no
// standard conversion to int can follow it): f(std::size_t), f(long), f(long long), f(const
// std::size_t&) accept it, f(int) and f(unsigned) do not.  A callable with one non-template call
// operator (a lambda, a function object, std::function) or a function pointer is probed; a generic
// lambda (auto i) is not (probing it would instantiate its body with the probe type): it is called
// with a std::size_t and so receives one.

#include <cstddef>
#include <type_traits>

namespace trident::detail {

template <class I>
inline constexpr bool holds_any_index_v =
    std::is_integral_v<I> && !std::is_same_v<I, bool> && sizeof(I) >= sizeof(std::size_t);

struct index_arg {
    template <class I>
        requires holds_any_index_v<I>
    operator I() const noexcept; // only named in unevaluated checks, never defined
};

template <class F>
constexpr bool has_single_call_operator()
{
    using D = std::remove_cvref_t<F>;
    if constexpr (std::is_pointer_v<D>)
        return std::is_function_v<std::remove_pointer_t<D>>;
    else if constexpr (std::is_function_v<D>)
        return true;
    else if constexpr (std::is_class_v<D>)
        return requires { &D::operator(); };
    else
        return false;
}

/// False when f's index parameter is an integer narrower than std::size_t.
template <class F>
constexpr bool takes_full_index()
{
    if constexpr (has_single_call_operator<F>())
        return std::is_invocable_v<F&, index_arg>;
    else
        return true;
}

} // namespace trident::detail
