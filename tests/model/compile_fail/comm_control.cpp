// Must compile: the control of comm_element_type.cpp and comm_const_receive.cpp (the same calls with
// float elements and a writable receive buffer).
#include <trident/comm/communicator.hpp>

#include <vector>

int main()
{
    trident::comm::run_in_process(1, [](trident::comm::communicator c) {
        std::vector<float> send(4), recv(4);
        c.all_reduce(send, recv);
    });
    return 0;
}
