// par.threads(n) and thread_arena(n) above the hardware threads print nothing: oneTBB warns on stderr
// ("The number of workers is currently limited to ...") when an arena asks for more workers than
// it allows, and trident must not make a user's program noisy.  Captures the process's stderr
// (file descriptor 2) around the calls and fails, printing what was written, if anything was.

#include "trident/trident.hpp"

#include <oneapi/tbb/info.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

int main()
{
    std::fflush(stderr);
    std::FILE* capture = std::tmpfile();
    const int saved = dup(2);
    if (capture == nullptr || saved < 0 || dup2(fileno(capture), 2) < 0) {
        std::printf("cannot capture stderr\n");
        return 77;
    }

    const int hw = tbb::info::default_concurrency();
    std::vector<int> v(100000, 1);
    long long sum = 0;
    for (int n : {4 * hw, 2 * hw, hw + 1, 1'000'000, 64}) {
        trident::for_each(trident::par.threads(n), v, [](int& x) { x += 1; });
        sum += trident::reduce(trident::par.threads(n), v, 0LL);
    }
    trident::thread_arena wide(8 * hw);
    trident::for_each(trident::par.on(wide), v, [](int& x) { x += 1; });

    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    std::string written;
    std::rewind(capture);
    for (int c; (c = std::fgetc(capture)) != EOF;)
        written += static_cast<char>(c);
    std::fclose(capture);

    const long long expected = 100000LL * (2 + 3 + 4 + 5 + 6);
    if (sum != expected) {
        std::fprintf(stderr, "FAILED: wrong sums (%lld, expected %lld)\n", sum, expected);
        return 1;
    }
    if (!written.empty()) {
        std::fprintf(stderr, "FAILED: par.threads(%d) wrote to stderr:\n%s", 4 * hw, written.c_str());
        return 1;
    }
    std::printf("par.threads(n) up to 1'000'000 on %d hardware threads: nothing on stderr\n", hw);
    return 0;
}
