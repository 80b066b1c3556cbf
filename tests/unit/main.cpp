// The Boost.Test module of abri's unit tests: lib/ without any socket.
#define BOOST_TEST_MODULE abri
#include <boost/test/unit_test.hpp>
