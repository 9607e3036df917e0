#pragma once
/// \file cpu_cores.hpp
/// Deprecated: `trident::cpu_cores` is now `trident::thread_arena`, in thread_arena.hpp (it caps
/// threads, it pins no core).  This header only forwards there and goes away in a later release.

#include "trident/thread_arena.hpp"
