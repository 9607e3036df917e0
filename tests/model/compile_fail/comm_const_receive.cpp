// Must NOT compile: a const receive buffer.
#include <trident/comm/communicator.hpp>

#include <vector>

int main()
{
    trident::comm::run_in_process(1, [](trident::comm::communicator c) {
        std::vector<float> send(4);
        const std::vector<float> recv(4);
        c.all_reduce(send, recv);
    });
    return 0;
}
