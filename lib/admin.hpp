// The administrators' FastCGI program: the purge on demand and the metrics
// (lib/admin.cpp). Run as bin/admin, or as bin/purge started under FastCGI
// (the contract: the same program serves the purge to admins).
#pragma once

namespace abri::admin {

// Serves the admin routes until told to stop (route::main); the exit status.
int serve(int argc, char** argv);

}  // namespace abri::admin
