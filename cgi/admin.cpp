// abri admin: the administrators' FastCGI program (lib/admin.hpp), which
// nginx serves only on the administrator's unix socket.
#include "../lib/admin.hpp"

int main(int argc, char** argv) { return abri::admin::serve(argc, argv); }
