// Must NOT compile: a collective over char elements (float, double, std::int32_t, std::int64_t only).
#include <trident/comm/communicator.hpp>

#include <vector>

int main()
{
    trident::comm::run_in_process(1, [](trident::comm::communicator c) {
        std::vector<char> send(4), recv(4);
        c.all_reduce(send, recv);
    });
    return 0;
}
