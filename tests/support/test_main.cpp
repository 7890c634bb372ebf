// The one translation unit that holds Boost.Test's runner; every test executable links it.
#define BOOST_TEST_MODULE gantry
#include <boost/test/included/unit_test.hpp>
